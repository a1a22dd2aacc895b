import { PassThrough } from 'node:stream';
import type { Io } from '../src/command';
import { proxySignals, watchTermination, type Termination } from '../src/signal-proxy';

/** An Io whose stderr is kept, for what the watch says. */
function io(): { io: Io; said: () => string } {
  const stderr = new PassThrough();
  let said = '';
  stderr.on('data', (chunk: Buffer) => (said += chunk.toString()));
  return { io: { stdin: new PassThrough(), stdout: new PassThrough(), stderr, env: {} }, said: () => said };
}

/** Whether `termination` has ended yet, and with what. */
async function outcome(termination: Termination): Promise<number | 'running'> {
  return Promise.race([termination.ended, new Promise<'running'>((resolve) => setImmediate(() => resolve('running')))]);
}

const watches: Termination[] = [];
afterEach(() => {
  for (const watch of watches.splice(0)) watch.stop();
});

function watch(on: Io, options?: Parameters<typeof watchTermination>[1]): Termination {
  const termination = watchTermination(on, options);
  watches.push(termination);
  return termination;
}

test('two SIGINTs or SIGTERMs leave an attached command running', async () => {
  const termination = watch(io().io);
  process.emit('SIGINT', 'SIGINT');
  process.emit('SIGTERM', 'SIGTERM');
  expect(await outcome(termination)).toBe('running');
});

test('the third ends it with 1, saying so in docker\'s words on stderr', async () => {
  const { io: on, said } = io();
  const termination = watch(on);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGINT'] as const) process.emit(signal, signal);
  expect(await outcome(termination)).toBe(1);
  expect(said()).toBe('\ngot 3 SIGTERM/SIGINTs, forcefully exiting\n');
});

test('with atFirst, the first ends it with that status, saying nothing', async () => {
  const { io: on, said } = io();
  const termination = watch(on, { atFirst: 0 });
  process.emit('SIGTERM', 'SIGTERM');
  expect(await outcome(termination)).toBe(0);
  expect(said()).toBe('');
});

test('onFirst is called at the first signal only', () => {
  let calls = 0;
  watch(io().io, { onFirst: () => (calls += 1) });
  process.emit('SIGINT', 'SIGINT');
  process.emit('SIGINT', 'SIGINT');
  expect(calls).toBe(1);
});

test('a stopped watch counts nothing more', async () => {
  const termination = watchTermination(io().io);
  process.emit('SIGINT', 'SIGINT');
  termination.stop();
  process.emit('SIGINT', 'SIGINT');
  process.emit('SIGINT', 'SIGINT');
  expect(await outcome(termination)).toBe('running');
});

test('a proxy is delivered once the kills of the signals it passed on have settled', async () => {
  let finish: () => void = () => undefined;
  const proxy = proxySignals(() => new Promise<void>((resolve) => (finish = resolve)));
  try {
    process.emit('SIGUSR2', 'SIGUSR2');
    let delivered = false;
    const waiting = proxy.delivered().then(() => (delivered = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(delivered).toBe(false);
    finish();
    await waiting;
    expect(delivered).toBe(true);
  } finally {
    proxy.stop();
  }
});
