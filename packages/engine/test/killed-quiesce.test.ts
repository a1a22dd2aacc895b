import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { testEngine, type TestEngine } from './fixture';

const exec = promisify(execFile);

/**
 * A child Node process with its own Engine on the same root: it starts `cp <container>:/bin -`
 * (the container paused while its files are read), reads nothing of the tar, says `ready` and waits.
 */
const copier = `
const { Engine } = require(${JSON.stringify(require.resolve('@ctr/engine').replace(/src(\/index\.ts)?$/, 'dist'))});
const engine = new Engine({ root: process.argv[1], runRoot: process.argv[2] });
engine.getArchive(process.argv[3], '/bin')
  .then(() => { process.stdout.write('ready\\n'); setInterval(() => undefined, 60000); })
  .catch((e) => { process.stdout.write('failed ' + (e && e.message) + '\\n'); process.exit(1); });
`;

describe('a container paused by a process that was killed while it read its files', () => {
  let t: TestEngine;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    t = await testEngine();
  });
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  /** What runc says of the container, asked directly: no look of the engine's. */
  const runcStatus = async (id: string): Promise<string> =>
    (JSON.parse((await exec('runc', ['--root', join(t.runRoot, 'runc'), 'state', id])).stdout) as { status: string }).status;

  async function copying(id: string): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['-e', copier, t.root, t.runRoot, id], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()).includes('ready\n') && resolve());
      child.once('exit', () => reject(new Error(`the copy ended before it was ready: ${out}`)));
    });
    return child;
  }

  async function kill(child: ChildProcess): Promise<void> {
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
  }

  const running = async (): Promise<string> => (await t.engine.run({ image: 'busybox', network: 'none', cmd: ['sleep', '600'], detach: true, pull: 'never' })).id;

  test('is resumed by the next inspect', async () => {
    const id = await running();
    await kill(await copying(id));
    expect(await runcStatus(id)).toBe('paused');
    const { State } = await t.engine.inspect(id);
    expect({ Status: State.Status, Paused: State.Paused }).toEqual({ Status: 'running', Paused: false });
    expect(await runcStatus(id)).toBe('running');
  });

  test('is resumed by the next ps', async () => {
    const id = await running();
    await kill(await copying(id));
    const [listed] = (await t.engine.ps({ filters: { id: [id] } })).map((c) => c.State);
    expect(listed).toBe('running');
    expect(await runcStatus(id)).toBe('running');
  });

  test('a user’s unpause of it succeeds, as what was asked is done', async () => {
    const id = await running();
    await kill(await copying(id));
    await expect(t.engine.unpause(id)).resolves.toBeUndefined();
    expect(await runcStatus(id)).toBe('running');
  });

  test('stays paused while the process that paused it runs', async () => {
    const id = await running();
    await copying(id);
    expect((await t.engine.inspect(id)).State.Paused).toBe(true);
    expect(await runcStatus(id)).toBe('paused');
  });

  test('a pause its user asked for is never undone', async () => {
    const id = await running();
    await t.engine.pause(id);
    await kill(await copying(id));
    expect((await t.engine.inspect(id)).State.Paused).toBe(true);
    expect(await runcStatus(id)).toBe('paused');
  });
});
