import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { build, parseBuildContexts, type BuildEvent } from '@ctr/dockerfile';
import { busybox, DirBackend, makeContext } from './helpers/dir-backend';

let backend: DirBackend;
let context: string;
let extra: string;

beforeEach(async () => {
  backend = await DirBackend.create({ busybox, 'alpine:3': { files: { 'etc/alpine-release': '3.20\n' } } });
  context = await makeContext({ 'main.txt': 'main\n' });
  extra = await makeContext({ 'lib/util.txt': 'util\n', 'top.txt': 'top\n' });
});
afterEach(async () => {
  await backend.dispose();
  await fs.rm(context, { recursive: true, force: true });
  await fs.rm(extra, { recursive: true, force: true });
});

const read = (dir: string, name: string): Promise<string> => fs.readFile(path.join(dir, name), 'utf8');
const exists = (dir: string, name: string): Promise<boolean> => fs.access(path.join(dir, name)).then(() => true, () => false);

describe('--build-context name=<directory>', () => {
  it('is what COPY --from=name copies from', async () => {
    const { id } = await build({ backend, context, dockerfileContent: 'FROM busybox\nCOPY --from=extra /lib/util.txt /app/\n', buildContexts: { extra: { type: 'local', path: extra } } });
    expect(await read(backend.image(id).state.dir, 'app/util.txt')).toBe('util\n');
  });

  it('is the filesystem of a stage FROM name, with no config of an image', async () => {
    const { id } = await build({ backend, context, dockerfileContent: 'FROM extra\nCOPY main.txt /\n', buildContexts: { extra: { type: 'local', path: extra } } });
    const image = backend.image(id);
    expect(await read(image.state.dir, 'lib/util.txt')).toBe('util\n');
    expect(await read(image.state.dir, 'main.txt')).toBe('main\n');
    expect(await exists(image.state.dir, 'bin/sh')).toBe(false);
    expect(image.spec.config.Cmd).toBeUndefined();
  });

  it('is what RUN --mount=from=name binds', async () => {
    await build({ backend, context, dockerfileContent: 'FROM busybox\nRUN --mount=from=extra,target=/src true\n', buildContexts: { extra: { type: 'local', path: extra } } });
    const mount = backend.runs[0]!.mounts![0]!;
    expect(mount).toMatchObject({ type: 'bind', target: '/src' });
    expect(mount.type === 'bind' && (await read(mount.source, 'top.txt'))).toBe('top\n');
  });

  it('hides what its own .dockerignore names', async () => {
    await fs.writeFile(path.join(extra, '.dockerignore'), 'top.txt\n');
    const { id } = await build({ backend, context, dockerfileContent: 'FROM extra\n', buildContexts: { extra: { type: 'local', path: extra } } });
    const dir = backend.image(id).state.dir;
    expect(await exists(dir, 'top.txt')).toBe(false);
    expect(await read(dir, 'lib/util.txt')).toBe('util\n');
  });

  it('unchanged, is no new layer and keeps the steps after it cached', async () => {
    const dockerfile = 'FROM busybox\nCOPY --from=extra /top.txt /\n';
    const buildContexts = { extra: { type: 'local' as const, path: extra } };
    await build({ backend, context, dockerfileContent: dockerfile, buildContexts });
    const applies = backend.applies.length;
    const events: BuildEvent[] = [];
    await build({ backend, context, dockerfileContent: dockerfile, buildContexts, onEvent: (e) => events.push(e) });
    expect(backend.applies.length).toBe(applies);
    expect(events.filter((e) => e.type === 'cache-hit')).toHaveLength(1);
  });

  it('changed, copies what it holds now', async () => {
    const dockerfile = 'FROM busybox\nCOPY --from=extra /top.txt /\n';
    const buildContexts = { extra: { type: 'local' as const, path: extra } };
    await build({ backend, context, dockerfileContent: dockerfile, buildContexts });
    await fs.writeFile(path.join(extra, 'top.txt'), 'changed\n');
    const { id } = await build({ backend, context, dockerfileContent: dockerfile, buildContexts });
    expect(await read(backend.image(id).state.dir, 'top.txt')).toBe('changed\n');
  });

  it('replaces the stage of the same name, whose instructions never run', async () => {
    const dockerfile = 'FROM busybox AS deps\nRUN echo built > /top.txt\nFROM busybox\nCOPY --from=deps /top.txt /\n';
    const events: BuildEvent[] = [];
    const { id } = await build({ backend, context, dockerfileContent: dockerfile, buildContexts: { deps: { type: 'local', path: extra } }, onEvent: (e) => events.push(e) });
    expect(await read(backend.image(id).state.dir, 'top.txt')).toBe('top\n');
    expect(backend.runs).toHaveLength(0);
    expect(events.filter((e) => e.type === 'step').map((e) => e.type === 'step' && e.total)).toEqual([3, 3, 3]);
  });

  it('that does not exist fails before anything is built, in buildx\'s words', async () => {
    const missing = path.join(extra, 'nope');
    await expect(build({ backend, context, dockerfileContent: 'FROM busybox\n', buildContexts: { extra: { type: 'local', path: missing } } })).rejects.toMatchObject({
      code: 'NotFound',
      message: `failed to get build context extra: stat ${missing}: no such file or directory`,
    });
    expect(backend.committed.size).toBe(0);
  });

  it('that is a file is refused: a context is a directory', async () => {
    const file = path.join(extra, 'top.txt');
    await expect(build({ backend, context, dockerfileContent: 'FROM busybox\n', buildContexts: { extra: { type: 'local', path: file } } })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: `failed to get build context path ${file}: not a directory`,
    });
  });
});

describe('--build-context name=docker-image://ref', () => {
  it('is the image FROM name builds on instead of the one so named', async () => {
    const { id } = await build({ backend, context, dockerfileContent: 'FROM alpine\nRUN true\n', buildContexts: { alpine: { type: 'image', ref: 'alpine:3' } } });
    expect(await read(backend.image(id).state.dir, 'etc/alpine-release')).toBe('3.20\n');
  });

  it('is found by the name written in full (docker.io/library/alpine:latest is alpine)', async () => {
    const { id } = await build({ backend, context, dockerfileContent: 'FROM docker.io/library/alpine:latest\nRUN true\n', buildContexts: { alpine: { type: 'image', ref: 'alpine:3' } } });
    expect(await exists(backend.image(id).state.dir, 'etc/alpine-release')).toBe(true);
  });

  it('is what COPY --from=name copies from', async () => {
    const { id } = await build({ backend, context, dockerfileContent: 'FROM busybox\nCOPY --from=release /etc/alpine-release /\n', buildContexts: { release: { type: 'image', ref: 'alpine:3' } } });
    expect(await read(backend.image(id).state.dir, 'alpine-release')).toBe('3.20\n');
  });
});

describe('parseBuildContexts (buildx ParseContextNames)', () => {
  it('reads a directory and a docker-image:// reference, keyed by familiar name', () => {
    expect(parseBuildContexts(['src=../lib', 'docker.io/library/alpine:latest=docker-image://alpine:3'])).toEqual({
      src: { type: 'local', path: '../lib' },
      alpine: { type: 'image', ref: 'alpine:3' },
    });
  });

  it('refuses a value without a name, in buildx\'s words', () => {
    expect(() => parseBuildContexts(['../lib'])).toThrow('invalid context value: ../lib, expected key=value');
  });

  it('refuses a name that is no reference, in buildx\'s words', () => {
    expect(() => parseBuildContexts(['Src=../lib'])).toThrow(/^invalid context name Src: /);
  });

  it('refuses a docker-image:// value that names no image', () => {
    expect(() => parseBuildContexts(['base=docker-image://'])).toThrow(/^invalid build context base: docker-image:\/\/: /);
  });

  it('refuses the sources this builder cannot fetch rather than reading them as directories', () => {
    expect(() => parseBuildContexts(['src=https://example.com/src.tar'])).toThrow(expect.objectContaining({ code: 'Unsupported' }));
    expect(() => parseBuildContexts(['out=target:build'])).toThrow(expect.objectContaining({ code: 'Unsupported' }));
  });
});
