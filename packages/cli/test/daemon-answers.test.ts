import { PassThrough } from 'node:stream';
import { CtrError, invalidArgument, notFound } from '@ctr/errors';
import type { Io } from '../src/command';
import { answeringAsDaemon, errorLine, isDaemonError, reportError, withHelp } from '../src/errors';

// The one rule at ctr's boundary with the engine: what the engine refuses is a daemon's answer,
// printed as docker 28's CLI prints dockerd's; what ctr refuses itself is printed as it is.

/** An engine of one kind of failure per method, standing for @ctr/engine or RemoteEngine. */
function failingEngine(error: unknown) {
  return {
    async inspect(_ref: string): Promise<never> {
      throw error;
    },
    check(): never {
      throw error;
    },
    async *logs(): AsyncGenerator<string> {
      yield 'a line';
      throw error;
    },
    async pull(_ref: string, options: { onProgress?: (event: string) => void } = {}): Promise<never> {
      options.onProgress?.('Already exists');
      throw error;
    },
    async pullAllTags(_repository: string): Promise<never> {
      throw error;
    },
    async push(_ref: string): Promise<never> {
      throw error;
    },
  };
}

const rejection = async (promise: Promise<unknown>): Promise<unknown> => promise.then(() => undefined, (error: unknown) => error);

function captured(): { io: Io; stderr: () => string } {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { io: { stdin: new PassThrough(), stdout: new PassThrough(), stderr, env: {} }, stderr: () => text };
}

describe('answeringAsDaemon', () => {
  test('a rejection is the daemon’s answer, its code, message and details kept', async () => {
    const engine = answeringAsDaemon(failingEngine(notFound('No such container: x', { details: { id: 'x' } })));
    const error = await rejection(engine.inspect('x'));
    expect(isDaemonError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'NotFound', message: 'No such container: x', details: { id: 'x' } });
  });

  test('a throw is the daemon’s answer too', () => {
    const engine = answeringAsDaemon(failingEngine(invalidArgument('invalid filter')));
    let thrown: unknown;
    try {
      engine.check();
    } catch (error) {
      thrown = error;
    }
    expect(isDaemonError(thrown)).toBe(true);
  });

  test('an error while iterating (logs, stats, events) is the daemon’s answer', async () => {
    const engine = answeringAsDaemon(failingEngine(new Error('log file gone')));
    const lines: string[] = [];
    const error = await rejection((async () => {
      for await (const line of engine.logs()) lines.push(line);
    })());
    expect(lines).toEqual(['a line']);
    expect(isDaemonError(error)).toBe(true);
    expect(errorLine(error)).toBe('Error response from daemon: log file gone');
  });

  test('an interruption is the user’s doing, not the daemon’s', async () => {
    const engine = answeringAsDaemon(failingEngine(new CtrError('Aborted', 'logs was cancelled')));
    expect(isDaemonError(await rejection(engine.inspect('x')))).toBe(false);
  });

  test('a pull that fails after its first progress message fails in its stream: printed as it is', async () => {
    const engine = answeringAsDaemon(failingEngine(new CtrError('Internal', 'unexpected EOF')));
    const seen: string[] = [];
    const error = await rejection(engine.pull('x', { onProgress: (event) => seen.push(event) }));
    expect(seen).toEqual(['Already exists']);
    expect(errorLine(error)).toBe('unexpected EOF');
  });

  test('a pull that fails before any message (no such manifest) is the daemon’s answer', async () => {
    const engine = answeringAsDaemon(failingEngine(notFound('manifest unknown')));
    expect(errorLine(await rejection(engine.pullAllTags('x')))).toBe('Error response from daemon: manifest unknown');
  });

  test('a push fails in its stream, after dockerd’s "The push refers to repository"', async () => {
    const engine = answeringAsDaemon(failingEngine(notFound('An image does not exist locally with the tag: x')));
    expect(errorLine(await rejection(engine.push('x')))).toBe('An image does not exist locally with the tag: x');
  });

  test('only what the daemon answered is its answer (through -H: an HTTP error, not a TLS setup)', async () => {
    const overHttp = (error: unknown): boolean => error instanceof CtrError && error.details.status !== undefined;
    const tls = answeringAsDaemon(failingEngine(invalidArgument('cannot load extra CA certificates')), overHttp);
    expect(isDaemonError(await rejection(tls.inspect('x')))).toBe(false);
    const http = answeringAsDaemon(failingEngine(notFound('No such image: x', { details: { status: 404 } })), overHttp);
    expect(isDaemonError(await rejection(http.inspect('x')))).toBe(true);
  });
});

describe('errorLine', () => {
  test('a daemon’s answer is in dockerd’s words, the engine’s hint (what to do) on the next line', async () => {
    const engine = answeringAsDaemon(failingEngine(invalidArgument('invalid signal: BOGUS', { hint: 'use a signal name such as SIGTERM' })));
    expect(errorLine(await rejection(engine.inspect('x')))).toBe('Error response from daemon: invalid signal: BOGUS\nuse a signal name such as SIGTERM');
  });

  test('ctr’s own error is its message, its hint on the next line', () => {
    expect(errorLine(invalidArgument('secret missing ID', { hint: 'Give it one' }))).toBe('secret missing ID\nGive it one');
  });
});

describe('reportError', () => {
  test('a daemon’s answer is one line, status 1, whatever code it names', async () => {
    const engine = answeringAsDaemon(failingEngine(invalidArgument('OCI runtime create failed', { details: { exitCode: 127 } })));
    const { io, stderr } = captured();
    expect(reportError(await rejection(engine.inspect('x')), io, 'ctr start', false)).toBe(1);
    expect(stderr()).toBe('Error response from daemon: OCI runtime create failed\n');
  });

  test('ctr’s own error is printed bare, with the status it carries (a build step’s)', () => {
    const { io, stderr } = captured();
    expect(reportError(new CtrError('Internal', "The command '/bin/sh -c exit 3' returned a non-zero code: 3", { details: { exitCode: 3 } }), io, 'ctr build', false)).toBe(3);
    expect(stderr()).toBe("The command '/bin/sh -c exit 3' returned a non-zero code: 3\n");
  });

  test('run’s framing: `ctr: `, the daemon’s words, where to read more, and the status given', async () => {
    const engine = answeringAsDaemon(failingEngine(notFound('No such image: nosuch:latest')));
    const { io, stderr } = captured();
    expect(reportError(withHelp(await rejection(engine.inspect('x')), 'run', 125), io, 'ctr container run', false)).toBe(125);
    expect(stderr()).toBe("ctr: Error response from daemon: No such image: nosuch:latest\n\nRun 'ctr run --help' for more information\n");
  });

  test('a flag’s syntax error keeps cobra’s framing under withHelp', () => {
    const { io, stderr } = captured();
    const usage = invalidArgument('unknown flag: --nope', { details: { usage: true } });
    expect(reportError(withHelp(usage, 'create', 125), io, 'ctr create', false, 'ctr create [OPTIONS] IMAGE')).toBe(125);
    expect(stderr()).toBe("unknown flag: --nope\n\nUsage:  ctr create [OPTIONS] IMAGE\n\nRun 'ctr create --help' for more information\n");
  });

  test('-D adds the stack of the error underneath', async () => {
    const engine = answeringAsDaemon(failingEngine(new TypeError('cannot read properties of undefined')));
    const { io, stderr } = captured();
    reportError(await rejection(engine.inspect('x')), io, 'ctr inspect', true);
    expect(stderr()).toMatch(/^Error response from daemon: cannot read properties of undefined\nTypeError: cannot read properties of undefined\n\s+at /);
  });
});
