import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { digestOf } from '@ctr/image';
import type { Store } from '@ctr/store';
import { bytes, listTree, newStore, removeDir } from './helpers';

let store: Store;
let root: string;
beforeEach(async () => ({ store, root } = await newStore('ingest')));
afterEach(async () => removeDir(root));

const whole = 'the quick brown fox jumps over the lazy dog';
const digest = digestOf(whole);

test('a closed ingest resumes at its offset when the same ref is reopened', async () => {
  const first = await store.content.ingest('pull-1', digest, { size: whole.length });
  expect(first.offset).toBe(0);
  await first.append(bytes(whole.slice(0, 10)));
  await first.close();

  const again = await store.content.ingest('pull-1', digest, { size: whole.length });
  expect(again.offset).toBe(10);
  await again.append(bytes(whole.slice(10)));
  await expect(again.commit()).resolves.toEqual({ digest, size: whole.length });
  await expect(store.content.info(digest)).resolves.toEqual({ digest, size: whole.length });
  expect(await listTree(`${root}/content/ingest`)).toEqual([]);
});

test('interrupted ingests are listed with their offsets', async () => {
  const ingest = await store.content.ingest('pull-2', digest);
  await ingest.append(bytes('the quick'));
  await ingest.close();
  expect(await store.content.ingests()).toEqual([expect.objectContaining({ ref: 'pull-2', digest, offset: 9 })]);
});

test('a second writer of the same ref is Unavailable while the first holds it', async () => {
  const first = await store.content.ingest('pull-3', digest);
  await expect(store.content.ingest('pull-3', digest)).rejects.toMatchObject({ code: 'Unavailable' });
  await first.abort();
  const second = await store.content.ingest('pull-3', digest);
  expect(second.offset).toBe(0);
  await second.abort();
});

test('committing wrong bytes is DigestMismatch and discards the ingest', async () => {
  const ingest = await store.content.ingest('pull-4', digest);
  await ingest.append(bytes('not the fox'));
  await expect(ingest.commit()).rejects.toMatchObject({ code: 'DigestMismatch' });
  expect(await listTree(`${root}/content`)).toEqual(['blobs', 'blobs/sha256', 'ingest']);
});

test('appending beyond the expected size is DigestMismatch and keeps what was valid', async () => {
  const ingest = await store.content.ingest('pull-5', digest, { size: 5 });
  await expect(ingest.append(bytes('123456'))).rejects.toMatchObject({ code: 'DigestMismatch' });
  expect(ingest.offset).toBe(0);
  await ingest.abort();
});

test('reopening a ref for a different digest starts over', async () => {
  const first = await store.content.ingest('pull-6', digestOf('other'));
  await first.append(bytes('oth'));
  await first.close();
  const again = await store.content.ingest('pull-6', digest);
  expect(again.offset).toBe(0);
  await again.abort();
});

test('an abandoned ingest can be aborted by ref', async () => {
  const ingest = await store.content.ingest('pull-7', digest);
  await ingest.append(bytes('the'));
  await ingest.close();
  await store.content.abortIngest('pull-7');
  expect(await store.content.ingests()).toEqual([]);
  await expect(store.content.abortIngest('pull-7')).rejects.toMatchObject({ code: 'NotFound' });
});

test('a hostile ref cannot place an ingest outside the ingest directory', async () => {
  const ingest = await store.content.ingest('../../../../tmp/escape', digest);
  await ingest.append(bytes('the'));
  await ingest.close();
  expect(await listTree(`${root}/content/ingest`)).toEqual([
    expect.stringMatching(/^[a-f0-9]{64}$/),
    expect.stringMatching(/^[a-f0-9]{64}\/data$/),
    expect.stringMatching(/^[a-f0-9]{64}\/record\.json$/),
  ]);
  await expect(store.content.ingest('', digest)).rejects.toMatchObject({ code: 'InvalidArgument' });
});

test('an ingest whose writer died resumes: its stale lock is broken', async () => {
  const first = await store.content.ingest('pull-dead', digest);
  await first.append(bytes('the quick'));
  await first.close();
  const lock = `${store.content.ingestPath('pull-dead')}/lock`;
  await fs.symlink(`${spawnSync('true').pid} deadbeef`, lock);
  const again = await store.content.ingest('pull-dead', digest);
  expect(again.offset).toBe(9);
  await again.abort();
});
