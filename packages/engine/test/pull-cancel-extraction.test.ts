/**
 * A pull cancelled late — while it extracts a layer, or once the layers are unpacked — names
 * nothing, as dockerd cancels a pull on its request's context before it tags: the image is
 * not listed, no extraction is left, and the same pull later names it. What a killed pull
 * left (a layer extraction of a process that has ended) goes with the next pull, in any
 * process; an extraction a live process is doing stays. Against ctr's registry server on
 * 127.0.0.1; the pull is cancelled through its AbortSignal at the progress event named.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAborted } from '@ctr/errors';
import { MemoryContentStore } from '@ctr/image';
import type { PullProgress } from '@ctr/registry';
import { RegistryServer } from '@ctr/registry';
import { openStore, type Store } from '@ctr/store';
import { spawnTs } from '../../store/test/helpers';
import { testEngine, type TestEngine } from './fixture';

const WORKER = join(__dirname, '..', '..', 'store', 'test', 'fixtures', 'leftover-worker.ts');

let source: TestEngine;
let work: string;
let registry: RegistryServer;
/** `<registry>/big:1`: one layer of 4 MiB of random bytes, so its extraction reports progress several times. */
let ref: string;

beforeAll(async () => {
  source = await testEngine();
  work = await mkdtemp(join(tmpdir(), 'ctr-engine-pull-cancel-'));
  registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry') });
  await registry.listen();
  ref = `${registry.host}/big:1`;
  const rootfs = await mkdtemp(join(work, 'rootfs-'));
  await writeFile(join(rootfs, 'big'), randomBytes(4 << 20));
  await source.engine.importImage({ dir: rootfs }, { name: ref });
  await source.engine.push(ref);
});

afterAll(async () => {
  await registry?.close();
  await source?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

let puller: TestEngine;
let store: Store;
beforeEach(async () => {
  puller = await testEngine();
  store = await openStore({ root: puller.root });
});
afterEach(async () => {
  await puller.cleanup();
});

/** Pull `ref`, aborted at the first progress event `at` selects; the error the pull ended with. */
async function pullAbortedAt(at: (event: PullProgress) => boolean): Promise<unknown> {
  const abort = new AbortController();
  return puller.engine
    .pull(ref, {
      signal: abort.signal,
      onProgress: (event) => {
        if (at(event)) abort.abort();
      },
    })
    .then(
      () => new Error('the pull was not cancelled'),
      (error: unknown) => error,
    );
}

const extracting = (event: PullProgress): boolean => event.kind === 'layer' && event.status === 'Extracting';
const extractions = async (): Promise<string[]> => Object.keys((await store.snapshots.table()).snapshots).filter((key) => key.startsWith('extract-'));
const named = async (): Promise<string[]> => (await puller.engine.images()).flatMap((image) => image.RepoTags);

test('a pull cancelled while it extracts a layer is aborted and names no image', async () => {
  expect(isAborted(await pullAbortedAt(extracting))).toBe(true);
  expect(await named()).not.toContain(ref);
  await expect(puller.engine.inspectImage(ref)).rejects.toMatchObject({ code: 'NotFound' });
});

test('a pull cancelled while it extracts a layer leaves no layer extraction behind', async () => {
  await pullAbortedAt(extracting);
  expect(await extractions()).toEqual([]);
});

test('a pull cancelled once its layers are unpacked names no image', async () => {
  const error = await pullAbortedAt((event) => event.kind === 'layer' && event.status === 'Pull complete');
  expect(isAborted(error)).toBe(true);
  await expect(puller.engine.inspectImage(ref)).rejects.toMatchObject({ code: 'NotFound' });
});

test('after a pull cancelled while extracting, the same pull names the image', async () => {
  await pullAbortedAt(extracting);
  await puller.engine.pull(ref);
  expect(await named()).toContain(ref);
});

describe('a layer extraction another process left', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });

  /** An unpack on the puller's store, stalled in its layer's extraction with a file written. */
  async function extractingProcess(): Promise<ChildProcess> {
    const child = spawnTs(WORKER, ['extract', puller.root]);
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (data: Buffer) => {
        out += data.toString();
        if (/^ready$/m.test(out)) resolve();
      });
      child.once('exit', () => reject(new Error('the extracting process ended before it was ready')));
    });
    return child;
  }

  test("goes with the next pull, its files and all, once its process was killed", async () => {
    const child = await extractingProcess();
    const [key] = await extractions();
    const dir = await store.snapshots.layerDir(key as string);
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
    await puller.engine.pull(ref);
    expect(await extractions()).toEqual([]);
    await expect(stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('stays while its process lives', async () => {
    await extractingProcess();
    const before = await extractions();
    await puller.engine.pull(ref);
    expect(await extractions()).toEqual(before);
  });
});
