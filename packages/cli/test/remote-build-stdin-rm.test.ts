import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, ctr as run, startTestDaemon, type Result, type TestDaemon } from './remote-fixture';

let t: TestDaemon;
let work: string;

/** `ctr -H unix://<the test daemon> build --network none <args> -` with `dockerfile` on stdin. */
function buildStdin(dockerfile: string, ...args: string[]): Promise<Result> {
  return run(['-H', `unix://${t.socket}`, 'build', '--network', 'none', ...args, '-'], { env: cleanEnv({ CTR_CONFIG: join(work, 'config') }), input: dockerfile });
}

/** The daemon's containers' commands. */
async function commands(): Promise<string[]> {
  return (await t.daemon.engine.ps({ all: true })).map((c) => c.Command).sort();
}

beforeAll(async () => {
  t = await startTestDaemon();
  work = await mkdtemp(join(tmpdir(), 'ctr-remote-build-stdin-'));
});
afterAll(async () => {
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});
afterEach(async () => {
  expect(t.internalErrors.splice(0)).toEqual([]);
  for (const c of await t.daemon.engine.ps({ all: true })) await t.daemon.engine.remove(c.Id, { force: true });
});

describe('ctr -H … build: stdin and --rm reach the daemon', () => {
  test('a Dockerfile on stdin goes up as the context and is built', async () => {
    const built = await buildStdin('FROM busybox\nRUN echo hi > /hi\n', '-q', '-t', 'remote/stdin');
    expect(built).toMatchObject({ code: 0, stderr: '' });
    expect((await t.daemon.engine.inspectImage('remote/stdin')).Id).toBe(built.stdout.trim());
  });

  test('--rm=false keeps every step\'s container on the daemon', async () => {
    expect((await buildStdin('FROM busybox\nRUN echo one\nRUN echo two\n', '--rm=false', '--no-cache')).code).toBe(0);
    expect(await commands()).toEqual(["/bin/sh -c 'echo one'", "/bin/sh -c 'echo two'"]);
  });

  test('--force-rm removes a failed step\'s container on the daemon', async () => {
    expect((await buildStdin('FROM busybox\nRUN exit 3\n', '--force-rm')).code).toBe(3);
    expect(await commands()).toEqual([]);
  });
});
