import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { TarReader } from '@ctr/image';
import { testEngine, type TestEngine } from './fixture';

interface Entry {
  type: string;
  mode: number;
  uid: number;
  linkname: string;
  text: string;
}

/** A tar's entries by name: type byte, permissions, owner, link target and content. */
async function entries(tar: PassThrough): Promise<Map<string, Entry>> {
  const reader = new TarReader(tar);
  const found = new Map<string, Entry>();
  for (let entry = await reader.next(); entry; entry = await reader.next()) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry.content()) chunks.push(chunk);
    const h = entry.header;
    found.set(h.name, { type: h.typeflag, mode: h.mode & 0o7777, uid: h.uid, linkname: h.linkname, text: Buffer.concat(chunks).toString() });
  }
  return found;
}

/** The artifacts stage of the common pattern: a RUN makes them, a FROM scratch stage holds only them. */
const ARTIFACTS = `FROM busybox AS build
RUN mkdir -p /app/bin /app/share && echo tool > /app/bin/tool && chmod 750 /app/bin/tool && ln -s tool /app/bin/alias \\
 && echo doc > /app/share/doc && ln /app/share/doc /app/share/doc2 && chown 1000 /app/share/doc && chmod 700 /app/share
FROM scratch AS out
COPY --from=build /app /
`;

describe('build output (buildx --output) with a real engine', () => {
  let t: TestEngine;
  let context: string;
  let host: string;
  beforeAll(async () => {
    t = await testEngine();
    context = await mkdtemp(join(tmpdir(), 'ctr-build-output-context-'));
    await writeFile(join(context, 'Dockerfile'), ARTIFACTS);
  });
  beforeEach(async () => {
    host = await mkdtemp(join(tmpdir(), 'ctr-build-output-'));
  });
  afterEach(async () => {
    await rm(host, { recursive: true, force: true });
  });
  afterAll(async () => {
    await rm(context, { recursive: true, force: true });
    await t?.cleanup();
  });

  test('type=local writes the final stage\'s files, links and modes into dest (made when missing)', async () => {
    const dest = join(host, 'out', 'dist');
    await t.engine.build({ context, output: { type: 'local', dest } });
    expect(await readFile(join(dest, 'bin', 'tool'), 'utf8')).toBe('tool\n');
    expect((await stat(join(dest, 'bin', 'tool'))).mode & 0o7777).toBe(0o750);
    expect(await readlink(join(dest, 'bin', 'alias'))).toBe('tool');
    expect((await stat(join(dest, 'share'))).mode & 0o7777).toBe(0o700);
    expect(await readFile(join(dest, 'share', 'doc2'), 'utf8')).toBe('doc\n');
  });

  test('type=local keeps hard links linked and gives every file to the exporting user, as BuildKit\'s receiver does', async () => {
    const dest = join(host, 'dist');
    await t.engine.build({ context, target: 'build', output: { type: 'local', dest } });
    const [doc, doc2] = await Promise.all([stat(join(dest, 'app', 'share', 'doc')), stat(join(dest, 'app', 'share', 'doc2'))]);
    expect(doc2.ino).toBe(doc.ino);
    expect(doc.uid).toBe(process.getuid!());
  });

  test('type=local merges into an existing directory, replacing what is in the way', async () => {
    const dest = join(host, 'dist');
    await mkdir(join(dest, 'bin', 'tool'), { recursive: true });
    await writeFile(join(dest, 'kept.txt'), 'mine\n');
    await t.engine.build({ context, output: { type: 'local', dest } });
    expect(await readFile(join(dest, 'bin', 'tool'), 'utf8')).toBe('tool\n');
    expect(await readFile(join(dest, 'kept.txt'), 'utf8')).toBe('mine\n');
  });

  test('type=local with --target exports that stage instead', async () => {
    const dest = join(host, 'dist');
    await t.engine.build({ context, target: 'build', output: { type: 'local', dest } });
    expect(await readFile(join(dest, 'app', 'bin', 'tool'), 'utf8')).toBe('tool\n');
    expect((await lstat(join(dest, 'bin', 'busybox'))).isFile()).toBe(true);
  });

  test('type=tar streams the filesystem, modes and symlinks as they are, leaving the stream open', async () => {
    const stream = new PassThrough();
    const parsed = entries(stream);
    await t.engine.build({ context, output: { type: 'tar', stream } });
    expect(stream.writableEnded).toBe(false);
    stream.end();
    const tar = await parsed;
    expect([...tar.keys()]).toEqual(['bin/', 'bin/alias', 'bin/tool', 'share/', 'share/doc', 'share/doc2']);
    expect(tar.get('bin/tool')).toMatchObject({ type: '0', mode: 0o750, text: 'tool\n' });
    expect(tar.get('bin/alias')).toMatchObject({ type: '2', linkname: 'tool' });
    expect(tar.get('share/')).toMatchObject({ type: '5', mode: 0o700 });
  });

  test('type=tar keeps owners, and hard links as links to the first name', async () => {
    const stream = new PassThrough();
    const parsed = entries(stream);
    await t.engine.build({ context, target: 'build', output: { type: 'tar', stream } });
    stream.end();
    const tar = await parsed;
    expect(tar.get('app/share/doc')).toMatchObject({ type: '0', uid: 1000, text: 'doc\n' });
    expect(tar.get('app/share/doc2')).toMatchObject({ type: '1', linkname: 'app/share/doc' });
  });

  test('aborting the build while its tar streams stops the export, as Aborted', async () => {
    const stream = new PassThrough({ highWaterMark: 1 });
    const controller = new AbortController();
    // Nothing reads the stream: the export waits on it until the abort.
    stream.once('data', () => stream.pause());
    stream.once('data', () => controller.abort());
    await expect(t.engine.build({ context, target: 'build', signal: controller.signal, output: { type: 'tar', stream } })).rejects.toMatchObject({ code: 'Aborted' });
  });

  test('type=tar with dest writes the tar to that file', async () => {
    const dest = join(host, 'out.tar');
    await t.engine.build({ context, output: { type: 'tar', dest } });
    const file = new PassThrough();
    file.end(await readFile(dest));
    expect((await entries(file)).get('bin/tool')).toMatchObject({ text: 'tool\n' });
  });

  test('an export tags nothing, whatever tags the build was given', async () => {
    await t.engine.build({ context, tags: ['exported:1'], output: { type: 'local', dest: join(host, 'dist') } });
    expect((await t.engine.images()).flatMap((image) => image.RepoTags)).not.toContain('exported:1');
  });

  test('a local dest that is a file fails before any step runs, in buildx\'s words', async () => {
    const dest = join(host, 'file');
    await writeFile(dest, 'x');
    const steps: string[] = [];
    await expect(t.engine.build({ context, output: { type: 'local', dest }, onEvent: (e) => e.type === 'step' && steps.push(e.instruction) })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: `failed to create synctarget dest dir ${dest}: mkdir ${dest}: not a directory`,
    });
    expect(steps).toEqual([]);
  });

  test('a tar dest that is a directory, or cannot be created, fails before any step runs', async () => {
    await expect(t.engine.build({ context, output: { type: 'tar', dest: host } })).rejects.toThrow(`destination file ${host} is a directory`);
    const file = join(host, 'file');
    await writeFile(file, 'x');
    await expect(t.engine.build({ context, output: { type: 'tar', dest: join(file, 'out.tar') } })).rejects.toThrow(`invalid destination file: ${join(file, 'out.tar')}: stat ${join(file, 'out.tar')}: not a directory`);
    const orphan = join(host, 'missing', 'out.tar');
    await expect(t.engine.build({ context, output: { type: 'tar', dest: orphan } })).rejects.toThrow(`failed to open open ${orphan}: no such file or directory`);
  });

  test('a named context directory is FROM name\'s filesystem, exported as it is', async () => {
    const lib = join(host, 'lib');
    await mkdir(lib);
    await writeFile(join(lib, 'lib.txt'), 'from lib\n');
    const nested = await mkdtemp(join(tmpdir(), 'ctr-build-output-named-'));
    try {
      await writeFile(join(nested, 'Dockerfile'), `${ARTIFACTS}FROM lib\nCOPY --from=out /bin/tool /tool\n`);
      const dest = join(host, 'dist');
      await t.engine.build({ context: nested, buildContexts: { lib: { type: 'local', path: lib } }, output: { type: 'local', dest } });
      expect(await readFile(join(dest, 'lib.txt'), 'utf8')).toBe('from lib\n');
      expect(await readFile(join(dest, 'tool'), 'utf8')).toBe('tool\n');
    } finally {
      await rm(nested, { recursive: true, force: true });
    }
  });

  test('a docker-image:// named context is what FROM name runs on', async () => {
    const nested = await mkdtemp(join(tmpdir(), 'ctr-build-output-image-'));
    try {
      await writeFile(join(nested, 'Dockerfile'), 'FROM alpine\nRUN busybox --help >/dev/null && echo ran > /ran\n');
      const dest = join(host, 'dist');
      await t.engine.build({ context: nested, buildContexts: { alpine: { type: 'image', ref: 'busybox' } }, output: { type: 'local', dest } });
      expect(await readFile(join(dest, 'ran'), 'utf8')).toBe('ran\n');
    } finally {
      await rm(nested, { recursive: true, force: true });
    }
  });
});
