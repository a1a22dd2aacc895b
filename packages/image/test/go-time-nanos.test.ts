/**
 * The one clock everything ctr stamps reads (containers, images, health checks, events,
 * networks) and the RFC 3339 forms dockerd shows its times in: nanoseconds, where records
 * written before ctr kept them hold milliseconds.
 */
import { compareTimes, goRfc3339Nano, historyEntry, nowNanos, nowRfc3339Nano, timeNanos, toNanos } from '@ctr/image';

/** Go's time.RFC3339Nano of a UTC time: a fraction of one to nine digits, never ending in 0, or none. */
const RFC3339_NANO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$/;

describe('nowNanos', () => {
  test('each value is above the one before, also within one millisecond', () => {
    const values = Array.from({ length: 10_000 }, () => nowNanos());
    for (let i = 1; i < values.length; i++) expect((values[i] as bigint) > (values[i - 1] as bigint)).toBe(true);
    // Ten thousand reads take far less than ten thousand milliseconds: some share one.
    const millis = new Set(values.map((v) => v / 1_000_000n));
    expect(millis.size).toBeLessThan(values.length);
  });

  test('a value lies within the milliseconds Date.now() gives around the call', () => {
    for (let i = 0; i < 1000; i++) {
      const before = BigInt(Date.now()) * 1_000_000n;
      const at = nowNanos();
      const after = BigInt(Date.now() + 1) * 1_000_000n;
      expect(at >= before && at < after).toBe(true);
    }
  });

  test('the values have digits below the millisecond', () => {
    const values = Array.from({ length: 100 }, () => nowNanos());
    expect(values.some((v) => v % 1_000_000n !== 0n)).toBe(true);
  });
});

describe('goRfc3339Nano', () => {
  test('writes all nine digits of the fraction when the last is not zero', () => {
    expect(goRfc3339Nano(1714558272123456789n)).toBe('2024-05-01T10:11:12.123456789Z');
  });

  test('drops the trailing zeros of the fraction, as Go does', () => {
    expect(goRfc3339Nano(1714558272120000000n)).toBe('2024-05-01T10:11:12.12Z');
  });

  test('writes a whole second without a fraction', () => {
    expect(goRfc3339Nano(1714558272000000000n)).toBe('2024-05-01T10:11:12Z');
  });

  test('now is written in that form', () => {
    expect(nowRfc3339Nano()).toMatch(RFC3339_NANO_UTC);
  });
});

describe('reading recorded times back', () => {
  test('a millisecond time (a record from before nanoseconds) reads as written', () => {
    expect(timeNanos('2024-05-01T10:11:12.123Z')).toBe(1714558272123000000n);
  });

  test('a nanosecond time reads whole', () => {
    expect(timeNanos('2024-05-01T10:11:12.123456789Z')).toBe(1714558272123456789n);
  });

  test('a time with an offset reads as the same instant in UTC', () => {
    expect(timeNanos('2024-05-01T12:11:12.000000001+02:00')).toBe(1714558272000000001n);
  });

  test('an unreadable time is undefined, not a guess', () => {
    expect(timeNanos('yesterday')).toBeUndefined();
  });

  test('compareTimes orders by time where the text of different widths would not', () => {
    const times = ['2024-05-01T10:11:12.5Z', '2024-05-01T10:11:12.123456789Z', '2024-05-01T10:11:12Z', '2024-05-01T10:11:12.123Z', '2024-05-01T10:11:12.1234Z'];
    expect([...times].sort(compareTimes)).toEqual(['2024-05-01T10:11:12Z', '2024-05-01T10:11:12.123Z', '2024-05-01T10:11:12.1234Z', '2024-05-01T10:11:12.123456789Z', '2024-05-01T10:11:12.5Z']);
  });

  test('toNanos takes the docker CLI\'s seconds with nine fraction digits exactly', () => {
    expect(toNanos('1714558272.123456789')).toBe(1714558272123456789n);
  });
});

test('a history entry made now is stamped to the nanosecond', () => {
  expect(historyEntry('RUN true').created).toMatch(RFC3339_NANO_UTC);
});
