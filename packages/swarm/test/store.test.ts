import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ClusterStore } from '../src/context';
import { openClusterStore } from '../src/store';
import type { Secret } from '../src/types';

const run = promisify(execFile);
const REGISTER = path.join(__dirname, '../../store/test/fixtures/ts-register.js');
const STORE_SOURCE = path.join(__dirname, '../src/store.ts');

let root: string;
let store: ClusterStore;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'ctr-swarm-store-'));
  store = openClusterStore(root);
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function secret(id: string, name: string): Omit<Secret, 'Version' | 'CreatedAt' | 'UpdatedAt'> {
  return { ID: id, Spec: { Name: name, Labels: {}, Data: Buffer.from('x').toString('base64') } };
}

test('each write takes the next index of the whole store as its version', async () => {
  const [a, b] = await store.transaction((tx) => [tx.create('secrets', secret('a', 'one')), tx.create('configs', { ID: 'b', Spec: { Name: 'two', Labels: {}, Data: '' } })]);
  const updated = await store.transaction((tx) => tx.update('secrets', { ...(tx.get('secrets', 'a') as Secret), Spec: { Name: 'one', Labels: { k: 'v' } } }));
  expect([a?.Version.Index, b?.Version.Index, updated.Version.Index]).toEqual([1, 2, 3]);
  expect(updated.CreatedAt).toBe(a?.CreatedAt);
  expect(updated.UpdatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  expect((await store.get('secrets', 'a'))?.Version.Index).toBe(3);
});

test('an update naming a version older than the stored one is refused as swarmkit refuses it', async () => {
  await store.transaction((tx) => tx.create('secrets', secret('a', 'one')));
  await store.transaction((tx) => tx.update('secrets', tx.get('secrets', 'a') as Secret, 1));
  const stale = store.transaction((tx) => tx.update('secrets', { ...(tx.get('secrets', 'a') as Secret), Spec: { Name: 'changed', Labels: {} } }, 1));
  await expect(stale).rejects.toMatchObject({ code: 'Conflict', message: 'rpc error: code = Unknown desc = update out of sequence' });
  expect((await store.get('secrets', 'a'))?.Spec.Name).toBe('one');
});

test('reads in a transaction see its own writes', async () => {
  const seen = await store.transaction((tx) => {
    tx.create('secrets', secret('a', 'one'));
    tx.create('secrets', secret('b', 'two'));
    tx.delete('secrets', 'a');
    return tx.list('secrets').map((s) => s.ID);
  });
  expect(seen).toEqual(['b']);
  expect((await store.list('secrets')).map((s) => s.ID)).toEqual(['b']);
});

test('a transaction that throws writes nothing', async () => {
  const failing = store.transaction((tx) => {
    tx.create('secrets', secret('a', 'one'));
    throw new Error('changed my mind');
  });
  await expect(failing).rejects.toThrow('changed my mind');
  expect(await store.list('secrets')).toEqual([]);
  expect(store.active()).toBe(false);
});

test('a commit cut short by a crash is finished before the next read', async () => {
  await store.transaction((tx) => tx.create('secrets', secret('a', 'one')));
  // What a writer killed between its journal and its object files leaves behind.
  const journal = {
    index: 5,
    writes: [
      { kind: 'secrets', id: 'a', object: null },
      { kind: 'secrets', id: 'b', object: { ...secret('b', 'two'), Version: { Index: 5 }, CreatedAt: 'c', UpdatedAt: 'u' } },
    ],
  };
  writeFileSync(path.join(root, 'swarm', 'journal.json'), JSON.stringify(journal));
  writeFileSync(path.join(root, 'swarm', 'secrets', '.tmp-1-2-3'), '{"half":');
  expect((await store.list('secrets')).map((s) => s.ID)).toEqual(['b']);
  const next = await store.transaction((tx) => tx.create('secrets', secret('c', 'three')));
  expect(next.Version.Index).toBe(6);
});

test('the state is readable by its owner only', async () => {
  await store.transaction((tx) => tx.create('secrets', secret('a', 'one')));
  expect(statSync(path.join(root, 'swarm')).mode & 0o777).toBe(0o700);
  expect(statSync(path.join(root, 'swarm', 'secrets', 'a.json')).mode & 0o777).toBe(0o600);
});

test('writers in several processes are serialised: no read-modify-write is lost', async () => {
  await store.transaction((tx) => tx.create('secrets', { ...secret('counter', 'counter'), Spec: { Name: 'counter', Labels: { n: '0' } } }));
  const child = `
    const { openClusterStore } = require(${JSON.stringify(STORE_SOURCE)});
    (async () => {
      const store = openClusterStore(process.argv[1]);
      for (let i = 0; i < 10; i++) {
        await store.transaction(async (tx) => {
          const counter = tx.get('secrets', 'counter');
          // Give a rival the chance to interleave, were the lock not held.
          await new Promise((resolve) => setTimeout(resolve, 2));
          tx.update('secrets', { ...counter, Spec: { ...counter.Spec, Labels: { n: String(Number(counter.Spec.Labels.n) + 1) } } }, counter.Version.Index);
        });
      }
    })().catch((error) => { console.error(error); process.exit(1); });`;
  await Promise.all([1, 2, 3].map(() => run(process.execPath, ['-r', REGISTER, '-e', child, root])));
  const counter = await store.get('secrets', 'counter');
  expect(counter?.Spec.Labels).toEqual({ n: '30' });
  expect(counter?.Version.Index).toBe(31);
});

test('destroy removes the whole state and leaves the store inactive', async () => {
  await store.transaction((tx) => tx.create('cluster', { ID: 'c' } as never));
  expect(store.active()).toBe(true);
  await store.destroy();
  expect(store.active()).toBe(false);
  expect(readdirSync(root).filter((n) => n.startsWith('swarm') && n !== 'swarm.lock')).toEqual([]);
});
