/**
 * A bind's shared or slave propagation needs the source's mount on the host to propagate so
 * (moby's ensureShared, ensureSharedOrSlave), and a rootfs that passes it on.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateSpec, type BindMount, type Spec, type SpecContext } from '@ctr/runtime';
import { sourceMountIn } from '../src/spec/mount-propagation';
import { Collector, testBed, type TestBed } from './helpers';

const context: SpecContext = { id: 'abcdef0123456789', rootfs: '/rootfs', rlimitCeilings: { nofile: 20000 } };

/** The spec of a container binding /src with `propagation`, /src living on the mount at / with mountinfo's `optional` fields. */
function spec(propagation: BindMount['propagation'], optional: string): Spec {
  return generateSpec({ Cmd: ['sh'] }, { mounts: [{ type: 'bind', source: '/src', target: '/dst', propagation }] }, { ...context, bindSources: { '/src': { mountpoint: '/', optional } } });
}

describe('the mount a source lives on', () => {
  const mountinfo = [
    '26 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    '40 26 0:40 / /srv/my\\040data rw,relatime master:7 - tmpfs tmpfs rw',
    '41 26 0:41 / /srv/other rw,relatime - tmpfs tmpfs rw',
    '42 41 0:42 / /srv/other rw,relatime shared:9 - tmpfs tmpfs rw',
  ].join('\n');

  test('is the deepest mountpoint above it, with its optional fields', () => {
    expect(sourceMountIn(mountinfo, '/srv/my data/x')).toEqual({ mountpoint: '/srv/my data', optional: 'master:7' });
    expect(sourceMountIn(mountinfo, '/srv/otherwise')).toEqual({ mountpoint: '/', optional: 'shared:1' });
  });

  test('is the last of mounts stacked at one place, the one seen there', () => {
    expect(sourceMountIn(mountinfo, '/srv/other/y')).toEqual({ mountpoint: '/srv/other', optional: 'shared:9' });
  });
});

describe('the spec', () => {
  test.each(['rslave', 'slave'] as const)("a %s bind from a private mount is refused in moby's words", (propagation) => {
    expect(() => spec(propagation, '')).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: 'path /src is mounted on / but it is not a shared or slave mount' }));
  });

  test.each(['rshared', 'shared'] as const)("a %s bind from a slave mount is refused in moby's words", (propagation) => {
    expect(() => spec(propagation, 'master:3')).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: 'path /src is mounted on / but it is not a shared mount' }));
  });

  test('a slave bind from a slave mount is taken, with a slave rootfs', () => {
    const made = spec('rslave', 'master:3');
    expect(made.mounts).toContainEqual({ destination: '/dst', type: 'bind', source: '/src', options: ['rbind', 'rw', 'rslave'] });
    expect(made.linux.rootfsPropagation).toBe('rslave');
  });

  test('a shared bind from a shared mount is taken, with a shared rootfs', () => {
    expect(spec('rshared', 'shared:1').linux.rootfsPropagation).toBe('shared');
  });

  test('a private bind needs nothing of its source', () => {
    expect(spec('rprivate', '').linux.rootfsPropagation).toBeUndefined();
  });

  test("the hint's mount command quotes a mountpoint with a space, so it can be pasted into a shell", () => {
    const made = (): Spec => generateSpec({ Cmd: ['sh'] }, { mounts: [{ type: 'bind', source: '/src', target: '/dst', propagation: 'rshared' }] }, { ...context, bindSources: { '/src': { mountpoint: "/srv/my data's", optional: '' } } });
    expect(made).toThrow(expect.objectContaining({ message: "path /src is mounted on /srv/my data's but it is not a shared mount", hint: expect.stringContaining("`mount --make-rshared '/srv/my data'\\''s'`") }));
  });
});

describe('in a real container (runc)', () => {
  let bed: TestBed;
  let work: string;
  beforeAll(async () => {
    bed = await testBed();
    work = mkdtempSync(path.join(os.tmpdir(), 'ctr-bind-propagation-'));
  });
  afterAll(async () => {
    await bed.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  test('a shared bind from a private host mount refuses the create', async () => {
    const source = path.join(work, 'private');
    mkdirSync(source);
    const create = bed.runtime.create('private-src', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] }, run: { mounts: [{ type: 'bind', source, target: '/b', propagation: 'rshared' }] } });
    await expect(create).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringMatching(new RegExp(`^path ${source} is mounted on /\\S* but it is not a shared mount$`)) });
  });

  test('a shared bind from a shared host mount runs, the mount shared inside', async () => {
    const source = path.join(work, 'shared');
    mkdirSync(source);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'ctr-test', source]);
    try {
      execFileSync('mount', ['--make-shared', source]);
      const stdout = new Collector();
      const run = { mounts: [{ type: 'bind' as const, source, target: '/b', propagation: 'rshared' as const }] };
      await bed.runtime.create('shared-src', { rootfs: await bed.rootfs(), image: { Cmd: ['sh', '-c', "grep ' /b ' /proc/self/mountinfo | grep -c shared:"] }, run });
      const { attached } = await bed.runtime.start('shared-src', { attach: { stdout } });
      expect((await bed.runtime.wait('shared-src')).exitCode).toBe(0);
      await attached;
      expect(stdout.text()).toBe('1\n');
    } finally {
      await bed.runtime.delete('shared-src', { force: true }).catch(() => undefined);
      execFileSync('umount', [source]);
    }
  });
});
