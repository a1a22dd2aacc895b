import { conflict, notFound } from '@ctr/errors';
import { proxySignals } from '../src/signal-proxy';

/** A kill that fails with each of `failures` in turn, then delivers; what it delivered. */
function killAfter(...failures: Error[]): { kill: (signal: NodeJS.Signals) => Promise<void>; delivered: NodeJS.Signals[]; tries: () => number } {
  const delivered: NodeJS.Signals[] = [];
  let tries = 0;
  return {
    kill: async (signal) => {
      const failure = failures[tries++];
      if (failure) throw failure;
      delivered.push(signal);
    },
    delivered,
    tries: () => tries,
  };
}

/** A kill that never gets through: every try fails with `error`. */
const refusedAlways = (error: Error): ReturnType<typeof killAfter> => killAfter(...Array.from({ length: 1000 }, () => error));

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `body` with a proxy in front of `kill`, stopped afterwards however `body` ends. */
async function withProxy(kill: (signal: NodeJS.Signals) => Promise<void>, body: (proxy: ReturnType<typeof proxySignals>) => Promise<void>): Promise<void> {
  const proxy = proxySignals(kill);
  try {
    await body(proxy);
  } finally {
    proxy.stop();
  }
}

test('a signal that comes before the container is there or running reaches it once it runs', async () => {
  const target = killAfter(notFound('No such container: c'), conflict('Container c is not running'));
  await withProxy(target.kill, async () => {
    process.emit('SIGUSR2', 'SIGUSR2');
    await settle(100);
    expect(target.delivered).toEqual(['SIGUSR2']);
  });
});

test('a signal still waiting for the process is dropped when the proxy stops', async () => {
  const target = refusedAlways(conflict('Container c is not running'));
  const proxy = proxySignals(target.kill);
  process.emit('SIGUSR2', 'SIGUSR2');
  await settle(30);
  proxy.stop();
  const tries = target.tries();
  await settle(50);
  expect(target.tries()).toBe(tries);
  expect(target.delivered).toEqual([]);
});

test('a kill that fails for any other reason is not tried again', async () => {
  const target = killAfter(new Error('permission denied'));
  await withProxy(target.kill, async () => {
    process.emit('SIGUSR2', 'SIGUSR2');
    await settle(50);
    expect(target.tries()).toBe(1);
  });
});

test('once the process has started, a signal it cannot take (its container has exited) is not tried again', async () => {
  const target = refusedAlways(conflict('Container c is not running'));
  await withProxy(target.kill, async (proxy) => {
    proxy.started();
    process.emit('SIGUSR2', 'SIGUSR2');
    await settle(50);
    expect(target.tries()).toBe(1);
    expect(target.delivered).toEqual([]);
  });
});

test('a signal still waiting when the process starts gets one more try, then is dropped if that fails', async () => {
  const target = refusedAlways(notFound('No such container: c'));
  await withProxy(target.kill, async (proxy) => {
    process.emit('SIGUSR2', 'SIGUSR2');
    await settle(20);
    proxy.started();
    const tries = target.tries();
    await settle(50);
    expect(target.tries()).toBeLessThanOrEqual(tries + 1);
  });
});
