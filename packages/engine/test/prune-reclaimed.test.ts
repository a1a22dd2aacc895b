import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { testEngine, type TestEngine } from './fixture';

describe('what prunes report and clear', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await testEngine();
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  /** A temporary name of the store's as a process killed mid-write leaves it: `.tmp-<pid>-<start time>-<hex>`. */
  async function killedProcessTemp(): Promise<string> {
    const child = spawn('sleep', ['60']);
    const stat = await readFile(`/proc/${child.pid}/stat`, 'latin1');
    const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
    return `.tmp-${child.pid}-${startTime}-0123456789ab`;
  }

  test('container prune reports the bytes of the writable layers it removed', async () => {
    const { id } = await t.engine.run({ image: 'busybox', network: 'none', pull: 'never', cmd: ['dd', 'if=/dev/zero', 'of=/data', 'bs=1024', 'count=1024'] });
    const [listed] = await t.engine.ps({ all: true, size: true, filters: { id: [id] } });
    const result = await t.engine.pruneContainers();
    expect(result.ContainersDeleted).toEqual([id]);
    expect(listed?.SizeRw).toBeGreaterThanOrEqual(1 << 20);
    expect(result.SpaceReclaimed).toBe(listed?.SizeRw);
  });

  test("volume prune reclaims the size system df shows for the volume: its files' bytes, not their disk blocks", async () => {
    await t.engine.createVolume({ name: 'reclaimed-sized' });
    await t.engine.run({ image: 'busybox', network: 'none', pull: 'never', autoRemove: true, volumes: ['reclaimed-sized:/v'], cmd: ['sh', '-c', 'printf hello > /v/f'] });
    const shown = (await t.engine.df()).Volumes.find((v) => v.Name === 'reclaimed-sized')?.UsageData.Size;
    expect(shown).toBe(5);
    expect(await t.engine.pruneVolumes({ all: true })).toEqual({ VolumesDeleted: ['reclaimed-sized'], SpaceReclaimed: shown });
  });

  test('system prune removes the temporary files of killed processes, counting their bytes', async () => {
    const blob = join(t.root, 'content', 'ingest', await killedProcessTemp());
    const volume = join(t.root, 'volumes', await killedProcessTemp());
    await writeFile(blob, Buffer.alloc(1 << 20, 1));
    await mkdir(join(volume, '_data'), { recursive: true });
    await writeFile(join(volume, '_data', 'file'), Buffer.alloc(1 << 20, 2));
    const { SpaceReclaimed } = await t.engine.prune();
    expect((await readdir(join(t.root, 'content', 'ingest'))).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    expect((await readdir(join(t.root, 'volumes'))).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    expect(SpaceReclaimed).toBeGreaterThanOrEqual(2 << 20);
  });
});
