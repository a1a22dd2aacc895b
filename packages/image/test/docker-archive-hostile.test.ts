import { Readable } from 'node:stream';
import { isCtrError } from '@ctr/errors';
import { digestOf, loadArchive, MemoryContentStore, saveArchive } from '@ctr/image';
import { classicArchive, collect, makeImage, storedDigests, tarEntries, untar, type TarEntry } from './docker-archive-fixtures';

/** Load `entries`; expect a CtrError with `code`; return what the store holds afterwards. */
async function expectRefused(entries: TarEntry[] | Buffer, code: string, message?: RegExp): Promise<string[]> {
  const store = new MemoryContentStore();
  const bytes = Buffer.isBuffer(entries) ? entries : await tarEntries(entries);
  const error = await loadArchive(store, Readable.from([bytes]), { maxJsonBytes: 64 * 1024 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isCtrError(error)).toBe(true);
  expect(error).toMatchObject({ code });
  if (message) expect((error as Error).message).toMatch(message);
  return storedDigests(store);
}

/** Every blob left in the store is one of the archive's own files, stored under its true digest. */
function onlyArchiveContent(entries: TarEntry[]): string[] {
  return entries.filter((e) => (e.type ?? 'file') === 'file').map((e) => digestOf(Buffer.from(e.content ?? '')));
}

function withManifest(entries: TarEntry[], manifest: unknown): TarEntry[] {
  return entries.map((e) => (e.name === 'manifest.json' ? { name: e.name, content: JSON.stringify(manifest) } : e));
}

describe('docker load refuses hostile archives (SECURITY-CASES T16/T17)', () => {
  it('refuses a layer path that climbs out of the archive', async () => {
    const archive = await classicArchive();
    const entries = withManifest(archive.entries, [
      { Config: `${archive.configDigest.slice(7)}.json`, RepoTags: ['x:y'], Layers: ['../../etc/shadow', archive.layerPaths[1]] },
    ]);
    const left = await expectRefused(entries, 'InvalidArgument', /outside the archive/);
    expect(left.every((d) => onlyArchiveContent(entries).includes(d))).toBe(true);
  });

  it('refuses an absolute config path', async () => {
    const archive = await classicArchive();
    const entries = withManifest(archive.entries, [{ Config: '/proc/self/environ', RepoTags: [], Layers: archive.layerPaths }]);
    await expectRefused(entries, 'InvalidArgument', /not a relative path/);
  });

  it('refuses a tar entry whose own name climbs out', async () => {
    const archive = await classicArchive();
    await expectRefused([{ name: '../escape', content: 'x' }, ...archive.entries], 'InvalidArgument', /outside the archive/);
  });

  it('refuses a symlink entry that points outside the archive', async () => {
    const archive = await classicArchive();
    const entries = archive.entries.map((e) =>
      e.name === archive.layerPaths[0] ? { name: e.name, type: 'symlink' as const, linkname: '../../../etc/shadow' } : e,
    );
    await expectRefused(entries, 'InvalidArgument', /outside the archive/);
  });

  it('refuses a layer whose bytes do not match the diffID the config lists', async () => {
    const archive = await classicArchive();
    const entries = archive.entries.map((e) => (e.name === archive.layerPaths[0] ? { name: e.name, content: 'tampered' } : e));
    const left = await expectRefused(entries, 'DigestMismatch', /diffID/);
    expect(left.every((d) => onlyArchiveContent(entries).includes(d))).toBe(true);
  });

  it('refuses a config whose digest is not the image ID its file name claims', async () => {
    const archive = await classicArchive();
    const fake = 'f'.repeat(64);
    const entries = withManifest(
      archive.entries.map((e) => (e.name === `${archive.configDigest.slice(7)}.json` ? { ...e, name: `${fake}.json` } : e)),
      [{ Config: `${fake}.json`, RepoTags: [], Layers: archive.layerPaths }],
    );
    await expectRefused(entries, 'DigestMismatch', /image ID/);
  });

  it('refuses a manifest.json that lists a layer the archive lacks', async () => {
    const archive = await classicArchive();
    const entries = archive.entries.filter((e) => e.name !== archive.layerPaths[1]);
    await expectRefused(entries, 'InvalidArgument', /does not contain it/);
  });

  it('refuses a manifest.json larger than the JSON size cap', async () => {
    const archive = await classicArchive();
    const entries = withManifest(archive.entries, [{ Config: 'x.json', RepoTags: ['a'.repeat(100 * 1024)], Layers: [] }]);
    await expectRefused(entries, 'ResourceExhausted', /limit/);
  });

  it('refuses a RepoTags name that is not an image reference', async () => {
    const archive = await classicArchive({ repoTags: ['../../Not A Name'] });
    await expectRefused(archive.entries, 'InvalidArgument', /not a valid image reference/);
  });

  it('refuses bytes that are not a tar archive', async () => {
    await expectRefused(Buffer.from('this is not a tar file at all'.repeat(40)), 'InvalidArgument');
  });

  it('refuses an archive with neither manifest.json nor index.json', async () => {
    await expectRefused([{ name: 'hello.txt', content: 'hi' }], 'InvalidArgument', /neither manifest.json/);
  });
});

describe('loading an OCI layout tar refuses hostile index.json entries (T17)', () => {
  async function ociEntries(): Promise<TarEntry[]> {
    const store = new MemoryContentStore();
    const image = await makeImage(store);
    const bytes = await collect(saveArchive(store, [{ descriptor: image.manifest, names: ['a:b'] }], { format: 'oci' }));
    return [...(await untar(bytes))].map(([name, content]) => (name.endsWith('/') ? { name, type: 'directory' as const } : { name, content }));
  }

  function withIndexDigest(entries: TarEntry[], digest: string): TarEntry[] {
    return entries.map((e) => {
      if (e.name !== 'index.json') return e;
      const index = JSON.parse(e.content!.toString());
      index.manifests[0].digest = digest;
      return { name: e.name, content: JSON.stringify(index) };
    });
  }

  it.each([
    ['a path-climbing digest', 'sha256:../../../etc/passwd'],
    ['uppercase hex', `sha256:${'A'.repeat(64)}`],
    ['short hex', 'sha256:abc123'],
    ['an unsupported algorithm', `sha512:${'a'.repeat(128)}`],
  ])('refuses a descriptor digest with %s', async (_what, digest) => {
    await expectRefused(withIndexDigest(await ociEntries(), digest), 'InvalidArgument');
  });

  it('refuses a blob whose bytes do not match the digest its path names', async () => {
    const entries = await ociEntries();
    const victim = entries.find((e) => e.name.startsWith('blobs/sha256/') && e.content !== undefined)!;
    const tampered = entries.map((e) => (e === victim ? { name: e.name, content: 'tampered' } : e));
    const left = await expectRefused(tampered, 'DigestMismatch');
    expect(left).not.toContain(`sha256:${victim.name.slice('blobs/sha256/'.length)}`);
  });

  it('refuses a blob path with a malformed digest', async () => {
    await expectRefused([{ name: 'blobs/sha256/NOT-HEX', content: 'x' }, ...(await ociEntries())], 'InvalidArgument');
  });

  it('refuses an index entry whose manifest the archive lacks', async () => {
    await expectRefused(withIndexDigest(await ociEntries(), `sha256:${'0'.repeat(64)}`), 'InvalidArgument', /does not contain it/);
  });

  it('refuses an OCI layout of an unknown major version', async () => {
    const entries = (await ociEntries()).map((e) =>
      e.name === 'oci-layout' ? { name: e.name, content: JSON.stringify({ imageLayoutVersion: '2.0.0' }) } : e,
    );
    await expectRefused(entries, 'Unsupported', /layout version/);
  });
});

describe('links and broken streams', () => {
  it('refuses a symlink loop instead of following it forever', async () => {
    const archive = await classicArchive();
    const [first] = archive.layerPaths;
    const dirOf = first!.split('/')[0];
    const entries = archive.entries
      .filter((e) => e.name !== first)
      .concat([
        { name: first!, type: 'symlink', linkname: 'other.tar' },
        { name: `${dirOf}/other.tar`, type: 'symlink', linkname: 'layer.tar' },
      ]);
    await expectRefused(entries, 'InvalidArgument', /links/);
  });

  it('follows a hard link to a layer stored under another name', async () => {
    const archive = await classicArchive({ layers: [{ same: 'x' }, { same: 'x' }] });
    const [first, second] = archive.layerPaths;
    const entries = archive.entries.map((e) => (e.name === second ? { name: second!, type: 'link' as const, linkname: first! } : e));
    const result = await loadArchive(new MemoryContentStore(), Readable.from([await tarEntries(entries)]));
    expect(result.images[0]!.imageId).toBe(archive.configDigest);
  });

  it('reports a failing source stream as Unavailable, not as a bad archive', async () => {
    const archive = await tarEntries((await classicArchive()).entries);
    const broken = new Readable({ read() {} });
    broken.push(archive.subarray(0, 1024));
    setImmediate(() => broken.destroy(new Error('connection reset')));
    await expect(loadArchive(new MemoryContentStore(), broken)).rejects.toMatchObject({ code: 'Unavailable' });
  });
});
