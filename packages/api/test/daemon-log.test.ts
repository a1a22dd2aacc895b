import { daemonLog, formatLogLine } from '../src/daemon-log';

/** ctrd's leveled log: dockerd's text format, at the daemon's level and above. */
describe("ctrd's log", () => {
  test('a line is level, msg, then the fields sorted by key, values quoted as logrus quotes them', () => {
    expect(formatLogLine('error', 'agent: session failed', { module: 'node/agent', error: 'connect ECONNREFUSED 127.0.0.1:2377', 'node.id': 'abc123', backoff: '1000ms' })).toBe(
      'level=error msg="agent: session failed" backoff=1000ms error="connect ECONNREFUSED 127.0.0.1:2377" module=node/agent node.id=abc123',
    );
  });

  test('a field without a value is left out', () => {
    expect(formatLogLine('info', 'certificate renewed', { expiry: undefined, failures: 3 })).toBe('level=info msg="certificate renewed" failures=3');
  });

  test('at info, debug lines are dropped and the others written', () => {
    const written: string[] = [];
    const log = daemonLog((line) => written.push(line), () => 'info');
    for (const level of ['debug', 'info', 'warn', 'error'] as const) log.log(level, level);
    expect(written).toEqual(['level=info msg="info"', 'level=warn msg="warn"', 'level=error msg="error"']);
  });

  test('the level is read at each line: turned to debug (a reload), debug lines are written from then on', () => {
    const written: string[] = [];
    let level: 'info' | 'debug' = 'info';
    const log = daemonLog((line) => written.push(line), () => level);
    log.log('debug', 'before');
    level = 'debug';
    log.log('debug', 'after');
    expect(written).toEqual(['level=debug msg="after"']);
  });
});
