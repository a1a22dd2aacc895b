import type { DaemonLogLevel } from '@ctr/engine';
import { invalidArgument } from '@ctr/errors';
import { backgroundErrorLog, daemonLog, formatJsonLine, requestErrorLog } from '../src/daemon-log';

/** dockerd's time in its log (RFC3339NanoFixed): nine digits of fraction and the local offset, Z for UTC. */
const TIME = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d)`;

/** A log at `level` that keeps its lines. */
function collected(level: DaemonLogLevel = 'info', options: Parameters<typeof daemonLog>[2] = {}): { written: string[]; log: ReturnType<typeof daemonLog> } {
  const written: string[] = [];
  return { written, log: daemonLog((line) => written.push(line), () => level, options) };
}

/** ctrd's leveled log: dockerd's logrus formats, at the daemon's level and above. */
describe("ctrd's log", () => {
  test('a line is level, msg, then the fields sorted by key, values quoted as logrus quotes them', () => {
    const { written, log } = collected();
    log.log('error', 'agent: session failed', { module: 'node/agent', error: 'connect ECONNREFUSED 127.0.0.1:2377', 'node.id': 'abc123', backoff: '1000ms', empty: '' });
    expect(written).toEqual(['level=error msg="agent: session failed" backoff=1000ms empty= error="connect ECONNREFUSED 127.0.0.1:2377" module=node/agent node.id=abc123']);
  });

  test('a field without a value is left out', () => {
    const { written, log } = collected();
    log.log('info', 'certificate renewed', { expiry: undefined, failures: 3 });
    expect(written).toEqual(['level=info msg="certificate renewed" failures=3']);
  });

  test('warn is written as logrus names it, warning', () => {
    const { written, log } = collected();
    log.log('warn', 'careful');
    expect(written).toEqual(['level=warning msg=careful']);
  });

  test('with timestamps, a text line starts with its full time, quoted', () => {
    const { written, log } = collected('info', { timestamps: true });
    log.log('info', 'API listening on unix:///run/ctr/ctr.sock');
    expect(written).toEqual([expect.stringMatching(new RegExp(`^time="${TIME}" level=info msg="API listening on unix:///run/ctr/ctr\\.sock"$`))]);
  });

  test('a JSON line is one object: fields, level, msg and time, keys sorted, HTML characters escaped as Go escapes them', () => {
    const line = formatJsonLine('error', 'a <b> & c', { module: 'allocator', failures: 2, gone: undefined }, new Date());
    expect(line).toMatch(new RegExp(`^\\{"failures":2,"level":"error","module":"allocator","msg":"a \\\\u003cb\\\\u003e \\\\u0026 c","time":"${TIME}"\\}$`));
    expect(JSON.parse(line)).toMatchObject({ msg: 'a <b> & c' });
  });

  test('in the json format, every line is a JSON entry', () => {
    const { written, log } = collected('info', { format: 'json' });
    log.log('warn', 'sweep failed', { error: 'EIO' });
    expect(written.map((line) => JSON.parse(line) as unknown)).toEqual([{ error: 'EIO', level: 'warning', msg: 'sweep failed', time: expect.stringMatching(new RegExp(`^${TIME}$`)) }]);
  });

  test('at info, debug lines are dropped and the others written', () => {
    const { written, log } = collected('info');
    for (const level of ['debug', 'info', 'warn', 'error'] as const) log.log(level, level);
    expect(written).toEqual(['level=info msg=info', 'level=warning msg=warn', 'level=error msg=error']);
  });

  test('at fatal, none of these levels is written', () => {
    const { written, log } = collected('fatal');
    for (const level of ['debug', 'info', 'warn', 'error'] as const) log.log(level, level);
    expect(written).toEqual([]);
  });

  test('the level is read at each line: turned to debug (a reload), debug lines are written from then on', () => {
    const written: string[] = [];
    let level: DaemonLogLevel = 'info';
    const log = daemonLog((line) => written.push(line), () => level);
    log.log('debug', 'before');
    level = 'debug';
    log.log('debug', 'after');
    expect(written).toEqual(['level=debug msg=after']);
  });
});

describe("ctrd's internal errors", () => {
  test("a request's is an error line in dockerd's words, its stack at debug level", () => {
    const { written, log } = collected('debug');
    requestErrorLog(log)(new Error('boom'), 'GET /containers/json');
    expect(written).toEqual([
      'level=error msg="Handler for GET /containers/json returned error: boom"',
      expect.stringMatching(/^level=debug msg="Handler for GET \/containers\/json returned error: boom" stack="Error: boom\\n {4}at /),
    ]);
  });

  test("a request's stack is not written at info", () => {
    const { written, log } = collected('info');
    requestErrorLog(log)(new Error('boom'), 'GET /containers/json');
    expect(written).toEqual(['level=error msg="Handler for GET /containers/json returned error: boom"']);
  });

  test('a pass failing the same way again is one error line with one stack, the passes after at debug level without', () => {
    const { written, log } = collected('debug');
    const { failed } = backgroundErrorLog(log);
    for (let pass = 0; pass < 3; pass++) failed(new Error('store unreadable'), 'the swarm task monitor');
    expect(written).toEqual([
      'level=error msg="the swarm task monitor failed" error="store unreadable"',
      expect.stringMatching(/^level=debug msg="the swarm task monitor failed" stack="Error: store unreadable\\n/),
      'level=debug msg="the swarm task monitor failed" error="store unreadable" failures=2',
      'level=debug msg="the swarm task monitor failed" error="store unreadable" failures=3',
    ]);
  });

  test('another failure of the same work is an error line again, with its hint', () => {
    const { written, log } = collected('info');
    const { failed } = backgroundErrorLog(log);
    failed(new Error('store unreadable'), 'the swarm task monitor');
    failed(invalidArgument('no such network', { hint: 'create it first' }), 'the swarm task monitor');
    expect(written).toEqual([
      'level=error msg="the swarm task monitor failed" error="store unreadable"',
      'level=error msg="the swarm task monitor failed" error="no such network" hint="create it first"',
    ]);
  });

  test('each kind of work has its own run of failures', () => {
    const { written, log } = collected('info');
    const { failed } = backgroundErrorLog(log);
    failed(new Error('EIO'), 'the swarm task monitor');
    failed(new Error('EIO'), 'the swarm node agent');
    expect(written).toEqual(['level=error msg="the swarm task monitor failed" error=EIO', 'level=error msg="the swarm node agent failed" error=EIO']);
  });

  test('once the work succeeded, the same failure is an error line again, its failures counted afresh', () => {
    const { written, log } = collected('info');
    const { failed, succeeded } = backgroundErrorLog(log);
    failed(new Error('EIO'), 'the swarm task monitor');
    failed(new Error('EIO'), 'the swarm task monitor');
    succeeded('the swarm task monitor');
    failed(new Error('EIO'), 'the swarm task monitor');
    expect(written).toEqual(['level=error msg="the swarm task monitor failed" error=EIO', 'level=error msg="the swarm task monitor failed" error=EIO']);
  });

  test("another kind of work's success leaves a run of failures as it was", () => {
    const { written, log } = collected('info');
    const { failed, succeeded } = backgroundErrorLog(log);
    failed(new Error('EIO'), 'the swarm task monitor');
    succeeded('the update of service abc');
    failed(new Error('EIO'), 'the swarm task monitor');
    expect(written).toEqual(['level=error msg="the swarm task monitor failed" error=EIO']);
  });
});
