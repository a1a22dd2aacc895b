/**
 * ctrd, as dockerd, clears at its start what processes that have ended left on its root —
 * a killed unpack's extraction, a killed pull's download once no pull resumed it for a day,
 * a killed create's image-use mark — once its socket listens, in the background, telling
 * `onSweep` what went. A download fresh enough to resume stays. The killed processes are real
 * store workers (the store's test fixture), SIGKILLed mid-pull and mid-unpack.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { lutimes, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startDaemon, type Daemon } from '@ctr/api';
import type { SweepReport } from '@ctr/engine';
import { killedWorker } from '../../store/test/killed-worker';

const DAY = 24 * 60 * 60 * 1000;

let root: string;
let runRoot: string;
let daemon: Daemon | undefined;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'ctr-api-sweep-'));
  runRoot = await mkdtemp(path.join(tmpdir(), 'ctr-api-sweep-run-'));
});
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  await rm(root, { recursive: true, force: true });
  await rm(runRoot, { recursive: true, force: true });
});

/** Set an ingest (its directory and files) as last written `ms` ago. */
async function age(dir: string, ms: number): Promise<void> {
  const then = new Date(Date.now() - ms);
  for (const name of await readdir(dir)) await lutimes(path.join(dir, name), then, then);
  await lutimes(dir, then, then);
}

async function ingests(): Promise<string[]> {
  const dir = path.join(root, 'content', 'ingest');
  return (await readdir(dir)).filter((n) => !n.startsWith('.tmp-')).map((n) => path.join(dir, n));
}

test("ctrd's start removes a killed unpack's extraction, a killed pull's day-old download and a killed create's mark; a fresh download stays", async () => {
  await killedWorker('ingest', root);
  const [old] = await ingests();
  await age(old as string, 2 * DAY);
  await killedWorker('ingest', root);
  const fresh = (await ingests()).find((dir) => dir !== old);
  await killedWorker('extract', root);
  const ended = spawn('true');
  await new Promise((resolve) => ended.once('exit', resolve));
  const mark = path.join(root, 'engine', 'image-uses', 'e'.repeat(64));
  mkdirSync(path.dirname(mark), { recursive: true });
  symlinkSync(`sha256:${'a'.repeat(64)} sha256:${'b'.repeat(64)} ${ended.pid} 1`, mark);

  const told: Array<SweepReport | Error> = [];
  daemon = await startDaemon({ root, runRoot, hosts: [`unix://${runRoot}/ctr.sock`], onSweep: (result) => told.push(result) });
  const swept = await daemon.swept;

  expect(swept).toMatchObject({ removedIngests: [old], removedSnapshots: [expect.stringMatching(/^extract-/)], removedImageUses: [mark] });
  expect(swept?.reclaimed).toBeGreaterThan(0);
  expect(told).toEqual([swept]);
  expect(await ingests()).toEqual([fresh]);
  expect(existsSync(mark)).toBe(false);
  expect(await daemon.engine.systemCheck()).toEqual({ errors: false, findings: [] });
});

test('a start with nothing to sweep tells an empty sweep', async () => {
  const told: Array<SweepReport | Error> = [];
  daemon = await startDaemon({ root, runRoot, hosts: [`unix://${runRoot}/ctr.sock`], onSweep: (result) => told.push(result) });
  expect(await daemon.swept).toEqual({ removedIngests: [], removedSnapshots: [], removedImageUses: [], reclaimed: 0 });
  expect(told).toHaveLength(1);
});
