import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isInvalidArgument } from '@ctr/errors';
import { BLOCKED_SYSCALLS, DEFAULT_CAPABILITIES, generateSpec, type ImageConfig, type RunOptions, type Spec, type SpecContext } from '@ctr/runtime';

const context: SpecContext = { id: 'abcdef0123456789', rootfs: '/rootfs', rlimitCeilings: { nofile: 20000 } };
const busybox: ImageConfig = { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] };

function spec(options: RunOptions = {}, image: ImageConfig = busybox, ctx: SpecContext = context): Spec {
  return generateSpec(image, options, ctx);
}

/** `runc spec`'s own defaults, made by the real runc, as the reference. */
function runcDefaults(): Spec {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ctr-runc-spec-'));
  try {
    execFileSync('runc', ['spec'], { cwd: dir });
    return JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Spec;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('defaults, against runc spec', () => {
  const reference = runcDefaults();
  const ours = spec();

  test('mounts the same filesystems at the same places as runc spec', () => {
    const where = (s: Spec): string[] => s.mounts.filter((m) => m.type !== 'bind').map((m) => `${m.destination} ${m.type}`).sort();
    expect(where(ours)).toEqual(where(reference));
  });

  test('makes the same namespaces as runc spec', () => {
    expect(ours.linux.namespaces.map((n) => n.type).sort()).toEqual(reference.linux.namespaces.map((n) => n.type).sort());
  });

  test('masks at least what runc spec masks and makes the same paths read-only', () => {
    expect(ours.linux.maskedPaths).toEqual(expect.arrayContaining(reference.linux.maskedPaths ?? []));
    expect([...(ours.linux.readonlyPaths ?? [])].sort()).toEqual([...(reference.linux.readonlyPaths ?? [])].sort());
  });

  test('denies all devices first, as runc spec does', () => {
    expect(ours.linux.resources?.devices?.[0]).toEqual(reference.linux.resources?.devices?.[0]);
  });
});

test('a container gets Docker\'s 14 default capabilities and nothing inheritable', () => {
  const caps = spec().process.capabilities;
  expect(DEFAULT_CAPABILITIES).toHaveLength(14);
  expect([...(caps?.bounding ?? [])].sort()).toEqual([...DEFAULT_CAPABILITIES].sort());
  expect(caps?.effective).toEqual(caps?.bounding);
  expect(caps?.inheritable).toEqual([]);
  expect(caps?.ambient).toEqual([]);
});

test('cap-add and cap-drop change the set, with ALL on either side', () => {
  expect(spec({ capAdd: ['net_admin'] }).process.capabilities?.bounding).toContain('CAP_NET_ADMIN');
  expect(spec({ capDrop: ['CAP_CHOWN'] }).process.capabilities?.bounding).not.toContain('CAP_CHOWN');
  expect(spec({ capDrop: ['ALL'], capAdd: ['KILL'] }).process.capabilities?.bounding).toEqual(['CAP_KILL']);
  expect(spec({ capAdd: ['ALL'], capDrop: ['SYS_ADMIN'] }).process.capabilities?.bounding).not.toContain('CAP_SYS_ADMIN');
  expect(() => spec({ capAdd: ['FLY'] })).toThrow('unknown capability: "FLY"');
});

test('an image config cannot add privileges (R7)', () => {
  const hostile = { ...busybox, User: '0', CapAdd: ['SYS_ADMIN'], Privileged: true, SecurityOpt: ['seccomp=unconfined'], Labels: { x: 'y' } } as ImageConfig;
  const s = spec({}, hostile);
  expect(s).toEqual(spec());
});

test('the default seccomp profile allows by default and denies Docker\'s blocked syscalls with EPERM', () => {
  const seccomp = spec().linux.seccomp;
  expect(seccomp?.defaultAction).toBe('SCMP_ACT_ALLOW');
  const deny = seccomp?.syscalls.find((r) => r.errnoRet === 1);
  expect(deny?.action).toBe('SCMP_ACT_ERRNO');
  for (const name of ['mount', 'umount2', 'init_module', 'finit_module', 'delete_module', 'kexec_load', 'ptrace', 'reboot', 'swapon', 'unshare', 'setns', 'bpf', 'keyctl']) {
    expect(deny?.names).toContain(name);
  }
  expect(BLOCKED_SYSCALLS).not.toContain('clone');
  expect(spec({}, busybox, { ...context, arch: 'x64' }).linux.seccomp?.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  expect(spec({}, busybox, { ...context, arch: 'arm64' }).linux.seccomp?.architectures).toContain('SCMP_ARCH_AARCH64');
  expect(spec({ seccomp: 'unconfined' }).linux.seccomp).toBeUndefined();
});

test('no-new-privileges and a read-only rootfs are options', () => {
  expect(spec().process.noNewPrivileges).toBe(false);
  expect(spec({ noNewPrivileges: true }).process.noNewPrivileges).toBe(true);
  expect(spec().root).toEqual({ path: '/rootfs', readonly: false });
  expect(spec({ readOnlyRootfs: true }).root.readonly).toBe(true);
});

test("masked and read-only paths given replace Docker's, privileged or not, as moby applies them last", () => {
  const paths = (s: Spec): unknown => ({ masked: s.linux.maskedPaths, readonly: s.linux.readonlyPaths });
  expect(paths(spec({ maskedPaths: [], readonlyPaths: [] }))).toEqual({ masked: [], readonly: [] });
  expect(paths(spec({ privileged: true, maskedPaths: ['/proc/keys'], readonlyPaths: ['/proc/sys'] }))).toEqual({ masked: ['/proc/keys'], readonly: ['/proc/sys'] });
});

describe('entrypoint and cmd, by Docker\'s rules', () => {
  const image: ImageConfig = { Entrypoint: ['/entry'], Cmd: ['default'] };
  test('the image entrypoint runs with the image cmd', () => expect(spec({}, image).process.args).toEqual(['/entry', 'default']));
  test('a run cmd replaces the image cmd', () => expect(spec({ cmd: ['mine'] }, image).process.args).toEqual(['/entry', 'mine']));
  test('a run entrypoint drops the image cmd', () => expect(spec({ entrypoint: ['/other'] }, image).process.args).toEqual(['/other']));
  test('an empty entrypoint leaves the cmd alone', () => expect(spec({ entrypoint: [], cmd: ['ls'] }, image).process.args).toEqual(['ls']));
  test('no command at all is refused', () => {
    const error = (() => {
      try {
        spec({}, {});
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isInvalidArgument(error)).toBe(true);
  });
});

test("environment: PATH and HOSTNAME first, then the run options, then the image's they leave unset (moby's order)", () => {
  const env = spec({ env: ['A=run', 'C=3'], tty: true }, { Cmd: ['sh'], Env: ['A=image', 'B=2'] }).process.env;
  expect(env).toEqual([
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'HOSTNAME=abcdef012345',
    'TERM=xterm',
    'A=run',
    'C=3',
    'B=2',
  ]);
});

test("an image's PATH replaces the default in place", () => {
  expect(spec({}, { Cmd: ['sh'], Env: ['PATH=/app/bin', 'B=2'] }).process.env).toEqual(['PATH=/app/bin', 'HOSTNAME=abcdef012345', 'B=2']);
});

test("a bare KEY (docker's -e KEY with KEY unset on the client) unsets the image's KEY", () => {
  expect(spec({ env: ['KEY'] }, { Cmd: ['sh'], Env: ['KEY=image', 'B=2'] }).process.env).toEqual([
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'HOSTNAME=abcdef012345',
    'B=2',
  ]);
});

test('the working directory comes from the run, then the image, then /', () => {
  expect(spec().process.cwd).toBe('/');
  expect(spec({}, { ...busybox, WorkingDir: '/app' }).process.cwd).toBe('/app');
  expect(spec({ workingDir: '/srv/' }, { ...busybox, WorkingDir: '/app' }).process.cwd).toBe('/srv');
});

test('the resolved user becomes the process user with its groups', () => {
  const s = spec({}, busybox, { ...context, user: { uid: 1000, gid: 100, additionalGids: [27], home: '/home/u' } });
  expect(s.process.user).toEqual({ uid: 1000, gid: 100, additionalGids: [27] });
  expect(s.process.env).toContain('HOME=/home/u');
});

test('cgroup limits: memory, memory+swap, cpus, shares, pids, cpuset', () => {
  const r = spec({ memory: '512m', memorySwap: '1g', cpus: 1.5, cpuShares: 512, pidsLimit: 100, cpusetCpus: '0-1', cpusetMems: '0' }, busybox, {
    ...context,
    swapAccounting: true,
  }).linux.resources;
  expect(r?.memory).toEqual({ limit: 512 * 1024 ** 2, swap: 1024 ** 3 });
  expect(r?.cpu).toEqual({ quota: 150000, period: 100000, shares: 512, cpus: '0-1', mems: '0' });
  expect(r?.pids).toEqual({ limit: 100 });
});

test('swap is left out where the kernel does not account it, and defaults to twice the memory where it does', () => {
  expect(spec({ memory: '64m' }).linux.resources?.memory).toEqual({ limit: 64 * 1024 ** 2 });
  expect(spec({ memory: '64m' }, busybox, { ...context, swapAccounting: true }).linux.resources?.memory?.swap).toBe(128 * 1024 ** 2);
});

test('a swap limit of -1 is unlimited swap and needs no memory limit; 0 is the default of twice the memory', () => {
  expect(spec({ memorySwap: -1 }).linux.resources?.memory).toBeUndefined();
  expect(spec({ memory: '64m', memorySwap: '-1' }, busybox, { ...context, swapAccounting: true }).linux.resources?.memory).toEqual({ limit: 64 * 1024 ** 2, swap: -1 });
  expect(spec({ memory: '64m', memorySwap: 0 }, busybox, { ...context, swapAccounting: true }).linux.resources?.memory?.swap).toBe(128 * 1024 ** 2);
});

test('bad limits are refused with Docker\'s messages', () => {
  expect(() => spec({ memorySwap: '1g' })).toThrow('You should always set the Memory limit when using Memoryswap limit, see usage');
  expect(() => spec({ memory: '1g', memorySwap: '512m' })).toThrow('Minimum memoryswap limit should be larger than memory limit, see usage');
  expect(() => spec({ cpus: 'x' })).toThrow('invalid value "x" for cpus');
  expect(() => spec({ cpusetCpus: '0-a' })).toThrow('invalid value "0-a" for cpuset-cpus');
});

test('the cgroup path is absolute under the parent', () => {
  expect(spec().linux.cgroupsPath).toBe('/ctr/abcdef0123456789');
  expect(spec({}, busybox, { ...context, cgroupParent: '/t' }).linux.cgroupsPath).toBe('/t/abcdef0123456789');
});

test('rlimits never go above the host\'s hard limits', () => {
  expect(spec().process.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', hard: 20000, soft: 20000 }]);
  expect(spec({ ulimits: [{ name: 'nofile', soft: 100, hard: 200 }] }).process.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', hard: 200, soft: 100 }]);
  expect(() => spec({ ulimits: [{ name: 'nofile', soft: 30000, hard: 30000 }] })).toThrow("above this host's hard limit 20000");
  expect(() => spec({ ulimits: [{ name: 'nofile', soft: 10, hard: 5 }] })).toThrow('soft limit must be less than or equal to hard limit');
});

test('network: none makes an empty namespace, host shares the host\'s, a path joins one', () => {
  const ns = (o: RunOptions): Spec['linux']['namespaces'] => spec(o).linux.namespaces.filter((n) => n.type === 'network');
  expect(ns({})).toEqual([{ type: 'network' }]);
  expect(ns({ network: { mode: 'none' } })).toEqual([{ type: 'network' }]);
  expect(ns({ network: { mode: 'host' } })).toEqual([]);
  expect(ns({ network: { mode: 'namespace', path: '/run/netns/x' } })).toEqual([{ type: 'network', path: '/run/netns/x' }]);
  expect(spec({ network: { mode: 'host' } }).hostname).toBeUndefined();
});

test('mounts: binds with mode and propagation, volumes as binds, tmpfs, and the prepared /etc files', () => {
  const s = spec(
    {
      mounts: [
        { type: 'bind', source: '/src', target: '/dst', readOnly: true, propagation: 'rslave' },
        { type: 'volume', source: '/vols/v/_data', target: '/data' },
        { type: 'tmpfs', target: '/run', size: '16m', mode: 0o755 },
      ],
    },
    busybox,
    { ...context, etcFiles: { hosts: '/c/hosts', resolvConf: '/c/resolv.conf', hostname: '/c/hostname' } },
  );
  const at = (d: string): unknown => s.mounts.find((m) => m.destination === d);
  expect(at('/dst')).toEqual({ destination: '/dst', type: 'bind', source: '/src', options: ['rbind', 'ro', 'rslave'] });
  expect(at('/data')).toEqual({ destination: '/data', type: 'bind', source: '/vols/v/_data', options: ['rbind', 'rw', 'rprivate'] });
  expect(at('/run')).toEqual({ destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'rprivate', 'size=16777216', 'mode=755'] });
  expect(at('/etc/hosts')).toMatchObject({ type: 'bind', source: '/c/hosts' });
  expect(at('/etc/resolv.conf')).toMatchObject({ type: 'bind', source: '/c/resolv.conf' });
  expect(at('/etc/hostname')).toMatchObject({ type: 'bind', source: '/c/hostname' });
});

test('mounts over /proc or /sys, relative targets and duplicates are refused (R5)', () => {
  for (const target of ['/proc', '/proc/sys', '/sys', '/sys/fs/cgroup', 'relative', '/']) {
    expect(() => spec({ mounts: [{ type: 'tmpfs', target }] })).toThrow(/invalid mount config/);
  }
  expect(() => spec({ mounts: [{ type: 'tmpfs', target: '/a' }, { type: 'tmpfs', target: '/a/' }] })).toThrow('Duplicate mount point: /a');
  expect(() => spec({}, { ...busybox, Volumes: { '/proc/': {} } })).toThrow(/volume over \/proc/);
});

test('shm size changes the /dev/shm tmpfs', () => {
  expect(spec({ shmSize: '128m' }).mounts.find((m) => m.destination === '/dev/shm')?.options).toContain(`size=${128 * 1024 ** 2}`);
});

test('a hostname must be a valid name', () => {
  expect(spec({ hostname: 'web-1.local' }).hostname).toBe('web-1.local');
  expect(() => spec({ hostname: 'bad name' })).toThrow('invalid hostname format: bad name');
});

test('a junk StopSignal in the image is refused', () => {
  expect(() => spec({}, { ...busybox, StopSignal: 'SIGNOPE' })).toThrow('invalid signal: SIGNOPE');
});

test('a TTY is requested in the process', () => {
  expect(spec({ tty: true }).process.terminal).toBe(true);
  expect(spec().process.terminal).toBe(false);
});
