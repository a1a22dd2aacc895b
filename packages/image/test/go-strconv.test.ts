import { goParseBool } from '../src';

test("goParseBool takes what Go's strconv.ParseBool takes", () => {
  expect(['1', 't', 'T', 'TRUE', 'true', 'True'].map(goParseBool)).toEqual([true, true, true, true, true, true]);
  expect(['0', 'f', 'F', 'FALSE', 'false', 'False'].map(goParseBool)).toEqual([false, false, false, false, false, false]);
});

test('goParseBool refuses what Go refuses: empty, other words, other cases, blanks', () => {
  expect(['', 'yes', 'tRUE', ' true', 'no'].map(goParseBool)).toEqual([undefined, undefined, undefined, undefined, undefined]);
});
