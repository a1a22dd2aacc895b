import { CtrError } from '@ctr/errors';
import { FailureLog, type LogFields, type LogLevel } from '../src/log';

/** A run of failures of something retried (the agent's session, its start), as its log tells it. */
describe('FailureLog', () => {
  let lines: Array<{ level: LogLevel; message: string; fields: LogFields | undefined }>;
  let now: number;
  let failures: FailureLog;

  beforeEach(() => {
    lines = [];
    now = 0;
    failures = new FailureLog({ log: (level, message, fields) => lines.push({ level, message, fields }) }, 'agent: session failed', () => now);
  });

  const levels = (): LogLevel[] => lines.map((l) => l.level);

  test('the first failure is an error line with the error and the given fields', () => {
    failures.failed(new Error('connect ECONNREFUSED'), { backoff: '1000ms' });
    expect(lines).toEqual([{ level: 'error', message: 'agent: session failed', fields: { backoff: '1000ms', error: 'connect ECONNREFUSED' } }]);
  });

  test('a CtrError says its hint with its first line', () => {
    failures.failed(new CtrError('Unavailable', 'certificate expired', { hint: 'join again' }));
    expect(lines[0]?.fields).toEqual({ error: 'certificate expired', hint: 'join again' });
  });

  test('the same failure again is a debug line until a minute passed, then an error line with the count', () => {
    for (let i = 0; i < 3; i++) failures.failed(new Error('down'));
    now = 60_000;
    failures.failed(new Error('down'));
    expect(levels()).toEqual(['error', 'debug', 'debug', 'error']);
    expect(lines[3]?.fields).toEqual({ error: 'down', failures: 4 });
  });

  test('the interval between repeated error lines doubles', () => {
    failures.failed(new Error('down'));
    now = 60_000;
    failures.failed(new Error('down'));
    now = 150_000;
    failures.failed(new Error('down'));
    now = 180_000;
    failures.failed(new Error('down'));
    expect(levels()).toEqual(['error', 'error', 'debug', 'error']);
  });

  test('another failure is an error line at once', () => {
    failures.failed(new Error('down'));
    failures.failed(new Error('timed out'));
    expect(levels()).toEqual(['error', 'error']);
  });

  test('clear tells how many failures came before, and the next failure is a first one again', () => {
    failures.failed(new Error('down'));
    failures.failed(new Error('down'));
    expect(failures.clear()).toBe(2);
    expect(failures.clear()).toBe(0);
    failures.failed(new Error('down'));
    expect(levels()).toEqual(['error', 'debug', 'error']);
  });
});
