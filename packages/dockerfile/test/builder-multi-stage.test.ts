import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { build, BuildEvent } from '@ctr/dockerfile';
import { busybox, DirBackend, makeContext } from './helpers/dir-backend';

let backend: DirBackend;
let context: string;

beforeEach(async () => {
  backend = await DirBackend.create({ busybox, 'alpine:3': { files: { 'etc/alpine-release': '3.20\n' } } });
  context = await makeContext({ 'src.txt': 'source\n' });
});
afterEach(async () => {
  await backend.dispose();
  await fs.rm(context, { recursive: true, force: true });
});

const dockerfile = `FROM busybox AS base
RUN echo base > /base.txt

FROM base AS builder
RUN echo built > /out.txt

FROM busybox AS unused
RUN echo never > /never.txt

FROM busybox
COPY --from=builder /out.txt /app/out.txt
COPY --from=0 /base.txt /app/
COPY --from=alpine:3 /etc/alpine-release /app/
`;

const read = (dir: string, name: string): Promise<string> => fs.readFile(path.join(dir, name), 'utf8');

describe('multi-stage builds', () => {
  it('builds only the stages the target needs, copying from stages by name and index and from images', async () => {
    const events: BuildEvent[] = [];
    const { id } = await build({ backend, context, dockerfileContent: dockerfile, onEvent: (e) => events.push(e) });
    const root = backend.image(id).state.dir;
    expect(await read(root, 'app/out.txt')).toBe('built\n');
    expect(await read(root, 'app/base.txt')).toBe('base\n');
    expect(await read(root, 'app/alpine-release')).toBe('3.20\n');
    expect(backend.runs.map((r) => r.args.join(' '))).toEqual(['/bin/sh -c echo base > /base.txt', '/bin/sh -c echo built > /out.txt']);
    expect(events).toContainEqual({ type: 'stage-skipped', stage: 2, name: 'unused' });
    expect(events.filter((e) => e.type === 'step').map((e) => e.type === 'step' && e.total)).toEqual(Array(8).fill(8));
  });

  it('stops at --target and skips later stages', async () => {
    const { id } = await build({ backend, context, dockerfileContent: dockerfile, target: 'builder' });
    expect(await read(backend.image(id).state.dir, 'out.txt')).toBe('built\n');
    expect(backend.runs).toHaveLength(2);
  });

  it('inherits the config of the stage it builds FROM', async () => {
    const { id } = await build({ backend, context, dockerfileContent: 'FROM busybox AS a\nENV X=1\nFROM a\nENV Y=2\n' });
    expect(backend.image(id).spec.config.Env).toEqual([...busybox.config!.config!.Env!, 'X=1', 'Y=2']);
  });

  it('fails for an unknown --target with a NotFound error and commits nothing', async () => {
    await expect(build({ backend, context, dockerfileContent: dockerfile, target: 'nope' })).rejects.toMatchObject({
      code: 'NotFound',
      message: 'failed to reach build target nope in Dockerfile',
    });
    expect(backend.committed.size).toBe(0);
    expect(backend.runs).toHaveLength(0);
  });

  it('fails for an image that does not exist', async () => {
    await expect(build({ backend, context, dockerfileContent: 'FROM nothing:here\n' })).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('rejects duplicate stage names with their line', async () => {
    await expect(build({ backend, context, dockerfileContent: 'FROM busybox AS a\nFROM busybox AS a\n' })).rejects.toMatchObject({
      code: 'InvalidArgument',
      line: 2,
    });
  });
});

describe('what FROM and COPY --from refer to', () => {
  it('treats a name that only a later stage defines as an image, as Docker does', async () => {
    const images = await DirBackend.create({ busybox, later: { files: { 'from-image': 'image\n' } } });
    try {
      const viaFrom = await build({ backend: images, context, dockerfileContent: 'FROM later AS first\nFROM busybox AS later\n', target: 'first' });
      // A stage that is its FROM alone is that image itself (dockerd's result).
      expect(viaFrom.id).toBe((await images.resolveImage('later')).id);
      const viaCopy = await build({
        backend: images,
        context,
        dockerfileContent: 'FROM busybox AS first\nCOPY --from=later /from-image /copied\nFROM busybox AS later\n',
        target: 'first',
      });
      expect(await read(images.image(viaCopy.id).state.dir, 'copied')).toBe('image\n');
    } finally {
      await images.dispose();
    }
  });
});
