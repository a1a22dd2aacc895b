import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { BuildImageOptions } from '@ctr/engine';
import { collector, testEngine, type TestEngine } from './fixture';

/**
 * Where docker's classic builder (moby's builder/dockerfile) puts what a step writes, and what
 * it refuses: COPY destinations through links and files, VOLUMEs under RUN steps, `--from`
 * values that name no stage, a FROM that expands to nothing, and `--build-arg`s and
 * `--label`s given without a value. Real engine, overlay snapshots, runc.
 */
let t: TestEngine;
let contexts: string;
beforeAll(async () => {
  t = await testEngine();
  contexts = await mkdtemp(join(tmpdir(), 'ctr-build-paths-'));
});
afterAll(async () => {
  await rm(contexts, { recursive: true, force: true });
  await t?.cleanup();
});

async function context(dockerfile: string, files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(contexts, 'ctx-'));
  for (const [name, content] of Object.entries({ ...files, Dockerfile: dockerfile })) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return dir;
}

async function build(dockerfile: string, files: Record<string, string> = {}, options: Partial<BuildImageOptions> = {}): Promise<{ id: string; warnings: string[] }> {
  return t.engine.build({ context: await context(dockerfile, files), network: 'none', ...options });
}

async function sh(image: string, script: string): Promise<string> {
  const stdout = collector();
  await t.engine.run({ image, cmd: ['sh', '-c', script], network: 'none', autoRemove: true, stdout });
  return stdout.text();
}

const FILES = { one: '1\n', two: '2\n', 'dir/inner': 'i\n' };
const LINKS = 'FROM busybox\nRUN mkdir /real && ln -s /real /dlink && ln -s real /rlink\n';

describe('COPY and ADD destinations follow links inside the image', () => {
  test('a file copied into an absolute link to a directory lands in the directory, the link kept', async () => {
    const { id } = await build(`${LINKS}COPY two /dlink/\n`, FILES);
    expect(await sh(id, 'cat /real/two; readlink /dlink')).toBe('2\n/real\n');
  });

  test('a relative link on the way to a new directory leads there', async () => {
    const { id } = await build(`${LINKS}COPY one /rlink/sub/\n`, FILES);
    expect(await sh(id, 'cat /real/sub/one; readlink /rlink')).toBe('1\nreal\n');
  });

  test("a directory's contents copied to a link land where it leads", async () => {
    const { id } = await build(`${LINKS}COPY dir /dlink\n`, FILES);
    expect(await sh(id, 'cat /real/inner; readlink /dlink')).toBe('i\n/real\n');
  });

  test('a link to a host path leads inside the image, never to the host', async () => {
    const host = await mkdtemp(join(contexts, 'host-'));
    const { id } = await build(`FROM busybox\nRUN ln -s ${host} /out && ln -s ../../../../../../..${host} /up\nCOPY one /out/\nCOPY two /up/\n`, FILES);
    expect(await sh(id, `cat ${host}/one ${host}/two; readlink /out`)).toBe(`1\n2\n${host}\n`);
    expect(await readdir(host)).toEqual([]);
  });
});

describe('COPY onto a file where a directory must be', () => {
  test('a file into a path ending in / that is a file fails as MkdirAll does', async () => {
    await expect(build('FROM busybox\nRUN echo x > /file\nCOPY one /file/\n', FILES)).rejects.toThrow('failed to copy files: failed to create new directory: mkdir /file: not a directory');
  });

  test('a directory onto a file fails as CopyWithTar does', async () => {
    await expect(build('FROM busybox\nRUN echo x > /file\nCOPY dir /file/\n', FILES)).rejects.toThrow('failed to copy files: failed to copy directory: mkdir /file: not a directory');
  });

  test('a path below a file is refused at that file', async () => {
    await expect(build('FROM busybox\nRUN echo x > /file\nCOPY one /file/sub/\n', FILES)).rejects.toThrow('mkdir /file: not a directory');
  });
});

describe('VOLUME under later RUN steps', () => {
  test('a RUN may write into a VOLUME the image does not have, and what it writes is in no layer', async () => {
    const { id } = await build('FROM busybox\nVOLUME /data\nRUN echo x > /data/f && cat /data/f\n');
    expect(await sh(id, 'ls -A /data 2>&1; echo end')).not.toContain('f\n');
  });

  test("a RUN sees the image's content in a VOLUME, and its writes there are discarded", async () => {
    const { id } = await build('FROM busybox\nRUN mkdir /data && echo kept > /data/old\nVOLUME /data\nRUN cat /data/old && echo x > /data/new && rm /data/old\n');
    expect(await sh(id, 'ls -A /data; cat /data/old')).toBe('old\nkept\n');
  });
});

describe('COPY --from values that name no stage', () => {
  test('an index past the stages built is out of bounds, never an image ID', async () => {
    await expect(build('FROM busybox\nCOPY --from=5 /bin/sh /x\n')).rejects.toThrow(/^invalid from flag value 5: index out of bounds$/);
  });

  test("the current stage's own index refers to the stage being built", async () => {
    await expect(build('FROM busybox AS a\nFROM busybox\nCOPY --from=1 /bin/sh /x\n')).rejects.toThrow(/^invalid from flag value 1: refers to current build stage$/);
  });

  test("an image that cannot be had is said with the flag's value first", async () => {
    await expect(build('FROM busybox\nCOPY --from=127.0.0.1:1/nostage /x /x\n')).rejects.toThrow(/^invalid from flag value 127\.0\.0\.1:1\/nostage: /);
  });
});

test('a FROM that expands to nothing is refused, not taken as scratch', async () => {
  await expect(build('FROM ${NOPE}\n')).rejects.toThrow('base name (${NOPE}) should not be blank');
});

describe('--build-arg and --label without a value', () => {
  test('a build arg given without a value sets nothing but is still said among those not consumed', async () => {
    const { id, warnings } = await build('FROM busybox\nARG FOO\nARG BAR=dflt\nRUN echo "[${FOO-unset}] [$BAR]" > /out\n', {}, { buildArgs: { FOO: null, BAR: null, GONE: null } });
    expect(await sh(id, 'cat /out')).toBe('[unset] [dflt]\n');
    expect(warnings).toContain('One or more build-args [GONE] were not consumed');
  });

  test('a label given as a key alone is the empty value', async () => {
    const { id } = await build('FROM busybox\n', {}, { labels: { c: '' } });
    expect((await t.engine.inspectImage(id)).Config.Labels).toMatchObject({ c: '' });
  });
});
