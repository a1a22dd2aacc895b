import { readdirSync, readFileSync } from 'node:fs';
import { testBed, type TestBed } from './helpers';

let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
});
afterAll(async () => {
  await bed.cleanup();
});

/** Perl processes this Node process started that run the conmon launcher. */
function launchers(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return parent === process.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('F_SETFD');
      } catch {
        return false;
      }
    })
    .map(Number);
}

test('from its third start on, a process starts conmon through one resident launcher, and those containers run as any other', async () => {
  const before = launchers();
  const codes: number[] = [];
  for (let i = 0; i < 4; i++) {
    const id = `launched${i}`;
    await bed.runtime.create(id, { rootfs: await bed.rootfs(), image: { Cmd: ['sh', '-c', `exit ${i + 1}`] } });
    await bed.runtime.start(id);
    codes.push((await bed.runtime.wait(id)).exitCode);
    await bed.runtime.delete(id);
  }
  expect(codes).toEqual([1, 2, 3, 4]);
  expect(launchers().filter((pid) => !before.includes(pid))).toHaveLength(1);
});
