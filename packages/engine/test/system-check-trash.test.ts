/**
 * `system check` in one process while another process's removal is still being deleted: a
 * removed layer is moved to trash named for its deleter (the mount relay, which outlives the
 * `ctr rm` that asked), so a check passes over a deletion under way and reports — and with
 * `repair` finishes — only one whose deleter was killed. The relay is held stopped by
 * trash-deleter.ts for the first two; the last races real `ctr rm` and `ctr system check`.
 */
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openStore, type Store } from '@ctr/store';
import { removeWithHeldDeleter, type HeldDeleter } from '../../store/test/trash-deleter';
import { testEngine, type TestEngine } from './fixture';

const CLEAN = { errors: false, findings: [] };
const CTR = path.resolve(__dirname, '../../cli/bin/ctr');

let t: TestEngine;
let store: Store;
let deleter: HeldDeleter | undefined;
beforeEach(async () => {
  t = await testEngine();
  store = await openStore({ root: t.root });
});
afterEach(async () => {
  await deleter?.kill().catch(() => undefined);
  deleter = undefined;
  await t.cleanup();
});

/** The trash in the snapshots directory. */
const trash = (): string[] => readdirSync(store.paths.snapshots).filter((name) => name.startsWith('.trash-'));

test('a check passes over a layer another process removed while its deleter still deletes it', async () => {
  await store.snapshots.prepare('scratch');
  deleter = await removeWithHeldDeleter(t.root, 'scratch');
  expect(await t.engine.systemCheck({ quick: true })).toEqual(CLEAN);
  expect(await t.engine.systemCheck({ quick: true, repair: true })).toEqual(CLEAN);
  expect(trash()).toHaveLength(1);
});

test('the rest of a removal whose deleter was killed is a leftover, and a repair finishes deleting it', async () => {
  await store.snapshots.prepare('scratch');
  deleter = await removeWithHeldDeleter(t.root, 'scratch');
  await deleter.kill();
  const [name] = trash();
  const finding = {
    kind: 'leftover',
    id: path.join(store.paths.snapshots, name as string),
    errors: ['the rest of a tree whose deletion was cut short (the process deleting it ended)'],
    repair: 'it is removed',
  };
  expect(await t.engine.systemCheck({ quick: true })).toEqual({ errors: true, findings: [{ ...finding, repaired: false }] });
  expect(await t.engine.systemCheck({ quick: true, repair: true })).toEqual({ errors: true, findings: [{ ...finding, repaired: true }] });
  expect(trash()).toEqual([]);
  expect(await t.engine.systemCheck({ quick: true })).toEqual(CLEAN);
});

/** `ctr <args>` in a process of its own on the test's root. */
function ctr(args: string[]): Promise<{ code: number | null; out: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, CTR_ROOT: t.root, CTR_RUNROOT: t.runRoot };
  delete env.NODE_EXTRA_CA_CERTS;
  const child = spawn(CTR, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out })));
}

test('ctr rm, then ctr system check in another process, finds nothing while the removed layer is still being deleted', async () => {
  for (let round = 0; round < 5; round++) {
    const { id } = await t.engine.create({ image: 'busybox', cmd: ['true'], network: 'none', pull: 'never' });
    // A writable layer that takes a while to delete: the check starts while it is.
    const upper = await store.snapshots.upperDir(`container-${id}`);
    for (let i = 0; i < 20_000; i++) writeFileSync(path.join(upper, `f${i}`), '');
    expect(await ctr(['rm', id])).toEqual({ code: 0, out: `${id}\n` });
    expect(await ctr(['system', 'check', '--quick'])).toEqual({ code: 0, out: '' });
  }
});
