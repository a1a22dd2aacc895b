import { parseDuration } from '../src/duration';

describe('parseDuration (Go time.ParseDuration)', () => {
  it('reads compound durations into nanoseconds', () => {
    expect(parseDuration('1m30s')).toBe(90e9);
    expect(parseDuration('1h2m3s')).toBe(3723e9);
  });

  it('reads every unit Go knows', () => {
    expect(parseDuration('10ns')).toBe(10);
    expect(parseDuration('10us')).toBe(10e3);
    expect(parseDuration('10µs')).toBe(10e3);
    expect(parseDuration('500ms')).toBe(500e6);
    expect(parseDuration('2m')).toBe(120e9);
  });

  it('reads fractions', () => {
    expect(parseDuration('1.5h')).toBe(5400e9);
    expect(parseDuration('.5s')).toBe(500e6);
  });

  it('accepts a bare 0', () => {
    expect(parseDuration('0')).toBe(0);
  });

  it.each(['10', 'abc', '1x', '', '1s ', 's'])('refuses %j as an InvalidArgument naming it', (text) => {
    expect(() => parseDuration(text)).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: `time: invalid duration ${JSON.stringify(text)}` }));
  });
});
