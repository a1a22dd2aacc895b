import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { BuildEvent } from '@ctr/dockerfile';
import type { BuildImageOptions } from '@ctr/engine';
import { collector, testEngine, type TestEngine } from './fixture';

/**
 * What a classic `docker build` puts in the image (moby's builder/dockerfile): owners, times,
 * links and layers of COPY, ADD, WORKDIR, EXPOSE and RUN steps, checked in the built image
 * (real engine, overlay snapshots, runc).
 */
let t: TestEngine;
let contexts: string;
beforeAll(async () => {
  t = await testEngine();
  contexts = await mkdtemp(join(tmpdir(), 'ctr-build-content-'));
});
afterAll(async () => {
  await rm(contexts, { recursive: true, force: true });
  await t?.cleanup();
});

/** A context directory holding `files` (paths relative to it) and the Dockerfile. */
async function context(dockerfile: string, files: Record<string, string | Buffer> = {}): Promise<string> {
  const dir = await mkdtemp(join(contexts, 'ctx-'));
  for (const [name, content] of Object.entries({ ...files, Dockerfile: dockerfile })) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return dir;
}

async function build(dockerfile: string, files: Record<string, string | Buffer> = {}, options: Partial<BuildImageOptions> = {}): Promise<string> {
  return (await t.engine.build({ context: await context(dockerfile, files), network: 'none', ...options })).id;
}

/** What `sh -c script` prints in a container of `image`. */
async function sh(image: string, script: string): Promise<string> {
  const stdout = collector();
  await t.engine.run({ image, cmd: ['sh', '-c', script], network: 'none', autoRemove: true, stdout });
  return stdout.text();
}

const layers = async (image: string): Promise<string[]> => (await t.engine.inspectImage(image)).RootFS.Layers;
const lastCreatedBy = async (image: string): Promise<string> => (await t.engine.history(image))[0]!.CreatedBy;

/** A tar of `t1` ("one\n"), made by GNU tar with the owner given. */
function tarOfT1(owner = '0:0'): Buffer {
  const dir = mkdtempSync(join(contexts, 'tar-'));
  writeFileSync(join(dir, 't1'), 'one\n');
  const [uid, gid] = owner.split(':');
  return execFileSync('tar', ['-cf', '-', `--owner=${uid}`, `--group=${gid}`, '--numeric-owner', '-C', dir, 't1']);
}

const compress = (command: string, data: Buffer): Buffer => execFileSync(command, ['-c'], { input: data });

describe('COPY --from', () => {
  const STAGES = 'FROM busybox AS build\nRUN mkdir -p /out && echo built > /out/f && chown 1000:1000 /out/f\nFROM busybox\n';

  test('without --chown keeps the owners files have in the stage', async () => {
    const id = await build(`${STAGES}COPY --from=build /out /copied\nCOPY --from=build /out/f /single\n`);
    expect(await sh(id, 'stat -c "%u %g" /copied/f /single')).toBe('1000 1000\n1000 1000\n');
  });

  test('with --chown gives its files the --chown owner', async () => {
    const id = await build(`${STAGES}COPY --from=build --chown=7:8 /out /copied\n`);
    expect(await sh(id, 'stat -c "%u %g" /copied/f')).toBe('7 8\n');
  });
});

describe('ADD of a local archive', () => {
  test('copies a gzip file that is not a tar as it is', async () => {
    const id = await build('FROM busybox\nADD plain.txt.gz /g/\n', { 'plain.txt.gz': gzipSync('hello\n') });
    expect(await sh(id, 'zcat /g/plain.txt.gz')).toBe('hello\n');
  });

  test.each([
    ['xz', 'arch.tar.xz'],
    ['bzip2', 'arch.tar.bz2'],
    ['zstd', 'arch.tar.zst'],
  ])('extracts a %s-compressed tar', async (command, name) => {
    const id = await build(`FROM busybox\nADD ${name} /x/\n`, { [name]: compress(command, tarOfT1()) });
    expect(await sh(id, 'cat /x/t1')).toBe('one\n');
  });

  test('tells a compressed tar by its bytes, not its name', async () => {
    const id = await build('FROM busybox\nADD payload.bin /x/\n', { 'payload.bin': compress('xz', tarOfT1()) });
    expect(await sh(id, 'cat /x/t1')).toBe('one\n');
  });

  test('with --chown leaves the entries owned as the archive says', async () => {
    const id = await build('FROM busybox\nADD --chown=1:1 arch.tar /ownt/\n', { 'arch.tar': tarOfT1('123:456') });
    expect(await sh(id, 'stat -c "%u %g" /ownt/t1')).toBe('123 456\n');
  });
});

describe('directories COPY and ADD make', () => {
  const BUILD_TIME = '2030-01-02T03:04:05.000000000Z';

  test('get the build\'s time', async () => {
    const id = await build('FROM busybox\nCOPY a.txt /dst/\nADD arch.tar /agz/\n', { 'a.txt': 'a\n', 'arch.tar': tarOfT1() }, { now: () => BUILD_TIME, noCache: true });
    expect(await sh(id, 'stat -c %Y /dst /agz')).toBe(`${Date.parse(BUILD_TIME) / 1000}\n`.repeat(2));
  });

  test('above a copied directory are root\'s, the destination itself --chown\'s', async () => {
    const id = await build('FROM busybox\nCOPY --chown=7:8 dir /a/b\n', { 'dir/x': 'x\n' });
    expect(await sh(id, 'stat -c "%n %u %g" /a /a/b /a/b/x')).toBe('/a 0 0\n/a/b 7 8\n/a/b/x 7 8\n');
  });

  test('for a file are the --chown owner\'s, like the file', async () => {
    const id = await build('FROM busybox\nCOPY --chown=7:8 a.txt /p/q/\n', { 'a.txt': 'a\n' });
    expect(await sh(id, 'stat -c "%n %u %g" /p /p/q /p/q/a.txt')).toBe('/p 7 8\n/p/q 7 8\n/p/q/a.txt 7 8\n');
  });
});

test('a COPY that writes nothing adds no layer', async () => {
  const dir = await context('FROM busybox\nCOPY empty /tmp/\n');
  await mkdir(join(dir, 'empty'));
  const { id } = await t.engine.build({ context: dir, network: 'none' });
  expect(await layers(id)).toEqual(await layers('busybox'));
});

test('hard links inside a copied directory stay hard links', async () => {
  const dir = await context('FROM busybox\nCOPY d /d\n', { 'd/f': 'linked\n' });
  await link(join(dir, 'd/f'), join(dir, 'd/hard'));
  const { id } = await t.engine.build({ context: dir, network: 'none' });
  const [f, hard] = (await sh(id, 'stat -c "%h %i" /d/f /d/hard')).trim().split('\n');
  expect(f).toMatch(/^2 /);
  expect(hard).toBe(f);
});

describe('EXPOSE', () => {
  test('expands a variable into as many ports as it has words', async () => {
    const id = await build('FROM busybox\nENV PORTS="80 443/udp"\nEXPOSE $PORTS 9000\n');
    expect(Object.keys((await t.engine.inspectImage(id)).Config.ExposedPorts ?? {}).sort()).toEqual(['443/udp', '80/tcp', '9000/tcp']);
  });

  test('is recorded in the history as its words, as written', async () => {
    const id = await build('FROM busybox\nENV PORTS="80 443/udp"\nEXPOSE $PORTS 53/udp 8000-8001\n');
    expect(await lastCreatedBy(id)).toBe('/bin/sh -c #(nop)  EXPOSE 80 443/udp 53/udp 8000-8001');
  });
});

describe('WORKDIR', () => {
  test('makes a missing directory, which stays when the working directory moves on', async () => {
    const id = await build('FROM busybox\nWORKDIR /newdir\nWORKDIR /\n');
    expect(await sh(id, 'ls -d /newdir')).toBe('/newdir\n');
  });

  test('makes the directory root\'s, 0755, whoever USER is', async () => {
    const id = await build('FROM busybox\nUSER 1000\nWORKDIR /made/here\n');
    expect(await sh(id, 'stat -c "%n %u %g %a" /made /made/here')).toBe('/made 0 0 755\n/made/here 0 0 755\n');
  });

  test('makes its directory in a layer of its own, recorded as dockerd does', async () => {
    const id = await build('FROM busybox\nWORKDIR /newdir\n');
    expect(await layers(id)).toHaveLength((await layers('busybox')).length + 1);
    expect(await lastCreatedBy(id)).toBe('/bin/sh -c #(nop) WORKDIR /newdir');
  });

  test('of a directory already there adds no layer', async () => {
    const id = await build('FROM busybox\nWORKDIR /tmp\n');
    expect(await layers(id)).toEqual(await layers('busybox'));
  });

  test('of a file fails in dockerd\'s words', async () => {
    await expect(build('FROM busybox\nWORKDIR /etc/passwd\n')).rejects.toMatchObject({ code: 'InvalidArgument', message: 'Cannot mkdir: /etc/passwd is not a directory' });
  });
});

describe('a RUN step that changes nothing', () => {
  test('is taken from the build cache on a rebuild, with the steps after it', async () => {
    const dir = await context('FROM busybox\nRUN true\nRUN echo after > /after\n');
    const first = await t.engine.build({ context: dir, network: 'none' });
    const events: BuildEvent[] = [];
    const again = await t.engine.build({ context: dir, network: 'none', onEvent: (event) => events.push(event) });
    expect(events.filter((event) => event.type === 'cache-hit')).toHaveLength(2);
    expect(again.id).toBe(first.id);
    expect(await sh(again.id, 'cat /after')).toBe('after\n');
  });
});
