/**
 * `ctr -H` (ctrd) onto a taken host port, as docker's CLI against dockerd: `run -d` prints the
 * ID of the container it made before its start fails, and an `--rm` container whose start fails
 * is removed by the daemon.
 */
import { freePort } from '../../../test/support/free-port';
import { allocatedRefusal } from '../../../test/support/port-refusal';
import { cleanEnv, ctr, startTestDaemon, type Result, type TestDaemon } from './remote-fixture';

let daemon: TestDaemon;
beforeAll(async () => {
  daemon = await startTestDaemon();
});
afterEach(async () => {
  for (const c of await daemon.daemon.engine.ps({ all: true })) await daemon.daemon.engine.remove(c.Id, { force: true });
});
afterAll(async () => {
  await daemon?.cleanup();
});

const remote = (...args: string[]): Promise<Result> => ctr(['-H', `unix://${daemon.socket}`, ...args], { env: cleanEnv() });

/** A detached `sleep` named `name` publishing `publish` (and `more` flags): its result. */
const sleeper = (name: string, publish: string, ...more: string[]): Promise<Result> => remote('run', '-d', ...more, '--name', name, '-p', publish, 'busybox', 'sleep', '300');

/** The first line of `text` without the daemon's prefix, which it must have. */
function fromDaemon(text: string): string {
  const [line = ''] = text.split('\n');
  expect(line).toMatch(/^(?:ctr: )?Error response from daemon: /);
  return line.replace(/^(?:ctr: )?Error response from daemon: /, '');
}

test('run -d onto a taken host port prints the container\'s ID, then the daemon\'s refusal, and exits 125', async () => {
  const port = await freePort();
  await sleeper('remote-holder', `127.0.0.1:${port}:80`);
  const refused = await sleeper('remote-second', `127.0.0.1:${port}:80`);
  expect(refused.code).toBe(125);
  expect(refused.stdout).toBe(`${(await daemon.daemon.engine.inspect('remote-second')).Id}\n`);
  expect(fromDaemon(refused.stderr)).toMatch(allocatedRefusal('remote-second', '127.0.0.1', port));
});

test('start of an --rm container whose host port is taken fails and the daemon removes it', async () => {
  const port = await freePort();
  await sleeper('remote-taker', `127.0.0.1:${port}:80`);
  expect((await remote('create', '--rm', '--name', 'remote-doomed', '-p', `127.0.0.1:${port}:80`, 'busybox', 'sleep', '300')).code).toBe(0);
  const refused = await remote('start', 'remote-doomed');
  expect(refused.code).toBe(1);
  expect(fromDaemon(refused.stderr)).toMatch(allocatedRefusal('remote-doomed', '127.0.0.1', port));
  expect((await daemon.daemon.engine.ps({ all: true })).map((c) => c.Names)).toEqual([['/remote-taker']]);
});
