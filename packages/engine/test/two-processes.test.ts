import { spawn } from 'node:child_process';
import { testEngine, type TestEngine } from './fixture';

/** A child Node process with its own Engine on the same root: runs one detached container, prints its ID, then waits to be killed. */
const child = `
const { Engine } = require(${JSON.stringify(require.resolve('@ctr/engine').replace(/src(\/index\.ts)?$/, 'dist'))});
const engine = new Engine({ root: process.argv[1], runRoot: process.argv[2] });
engine.run({ image: 'busybox', cmd: ['sh', '-c', 'trap "exit 42" TERM; while true; do sleep 0.1; done'], network: 'none', detach: true, name: 'from-child' })
  .then(({ id }) => { process.stdout.write(id + '\\n'); setInterval(() => {}, 1000); })
  .catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;

/** A child Node process that says it is ready, creates a container named `contested` at once and prints how that went. */
const rival = `
const { Engine } = require(${JSON.stringify(require.resolve('@ctr/engine').replace(/src(\/index\.ts)?$/, 'dist'))});
const engine = new Engine({ root: process.argv[1], runRoot: process.argv[2] });
process.stdout.write('ready\\n');
engine.create({ image: 'busybox', cmd: ['true'], network: 'none', name: 'contested', pull: 'never' })
  .then(({ id }) => process.stdout.write('created ' + id + '\\n'), (e) => process.stdout.write('refused ' + (e && e.code) + '\\n'));
`;

describe('two engine processes on one root', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await testEngine();
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  test('a container outlives the SIGKILLed process that started it; another engine stops it and reads its exit code', async () => {
    const proc = spawn(process.execPath, ['-e', child, t.root, t.runRoot], { stdio: ['ignore', 'pipe', 'pipe'] });
    const id = await new Promise<string>((resolve, reject) => {
      let out = '';
      let err = '';
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
      proc.on('exit', (code) => reject(new Error(`child exited ${code}: ${err}`)));
    });
    proc.kill('SIGKILL');
    await new Promise((r) => proc.once('close', r));

    const listed = await t.engine.ps({ filters: { name: ['from-child'] } });
    expect(listed).toEqual([expect.objectContaining({ Id: id, State: 'running' })]);
    await t.engine.stop('from-child', { timeout: 5 });
    expect((await t.engine.inspect(id)).State).toMatchObject({ Status: 'exited', ExitCode: 42 });
    await t.engine.remove(id);
    expect(await t.engine.ps({ all: true })).toEqual([]);
  });

  test('two processes creating a container of one name at once: one gets the name, the other a Conflict', async () => {
    const proc = spawn(process.execPath, ['-e', rival, t.root, t.runRoot], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const ready = new Promise<void>((resolve) => proc.stdout.on('data', (d: Buffer) => (out += d.toString()).startsWith('ready\n') && resolve()));
    const theirs = new Promise<string>((resolve) => proc.once('close', () => resolve(out.slice('ready\n'.length).trim())));
    // Both creates run at once: each claims the name while the other is making its container.
    await ready;
    const ours = await t.engine.create({ image: 'busybox', cmd: ['true'], network: 'none', name: 'contested', pull: 'never' }).then(
      ({ id }) => `created ${id}`,
      (error: { code?: string }) => `refused ${error.code}`,
    );
    const outcomes = [ours, await theirs];
    expect(outcomes.filter((o) => o.startsWith('created '))).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'refused Conflict')).toHaveLength(1);
    const winner = (outcomes.find((o) => o.startsWith('created ')) as string).slice('created '.length);
    expect(await t.engine.ps({ all: true })).toEqual([expect.objectContaining({ Id: winner, Names: ['/contested'] })]);
    await t.engine.remove(winner);
  });
});
