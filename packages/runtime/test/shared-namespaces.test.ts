/**
 * `--pid container:<id>`, `--ipc container:<id>`, `--ipc shareable` and a `container` network
 * in the spec: what create writes, and what a start joins (the other container's process, its /dev/shm).
 */
import { generateSpec, type ContainerState, type RunOptions, type Spec, type SpecContext } from '@ctr/runtime';
import { joinedNamespaces, joinsAndShm, type NamespaceOwner } from '../src/shared-namespaces';
import { applySpecOpts, withJoinedNamespaces } from '../src/spec/spec-opts';

const context: SpecContext = { id: 'abcdef0123456789', rootfs: '/rootfs', rlimitCeilings: { nofile: 20000 } };
const spec = (options: RunOptions, ctx: SpecContext = context): Spec => generateSpec({ Cmd: ['sh'] }, options, ctx);
const namespace = (s: Spec, type: string): unknown => s.linux.namespaces.find((n) => n.type === type);
const shm = (s: Spec): unknown => s.mounts.find((m) => m.destination === '/dev/shm');

/** A container the runtime knows, as the join reads it. */
function owner(state: Partial<ContainerState>, mounts: Spec['mounts'] = []): NamespaceOwner {
  return {
    state: async () => ({ running: false, pid: 0, ...state }) as ContainerState,
    spec: async () => ({ mounts }) as Spec,
  };
}

describe('the spec create writes', () => {
  test('a container: PID or IPC mode keeps a namespace of its own type, its path left to the start', () => {
    const made = spec({ pid: 'container:aaa', ipc: 'container:bbb' });
    expect(namespace(made, 'pid')).toEqual({ type: 'pid' });
    expect(namespace(made, 'ipc')).toEqual({ type: 'ipc' });
  });

  test('a container: mode without a container, or for UTS, is refused', () => {
    expect(() => spec({ pid: 'container:' as RunOptions['pid'] })).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: 'invalid PID mode: "container:"' }));
    expect(() => spec({ uts: 'container:aaa' as RunOptions['uts'] })).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: 'invalid UTS mode: "container:aaa"' }));
  });

  test('a container network keeps a network namespace, its path left to the start, and the record keeps the join', () => {
    expect(namespace(spec({ network: { mode: 'container', id: 'ccc' } }), 'network')).toEqual({ type: 'network' });
    expect(joinsAndShm({ network: { mode: 'container', id: 'ccc' } })).toEqual({ joins: { network: 'ccc' } });
  });

  test('a shareable IPC container\'s /dev/shm is a bind of its directory on the host', () => {
    expect(shm(spec({ ipc: 'shareable' }, { ...context, shmPath: '/var/lib/ctr/containers/x/shm' }))).toEqual({
      destination: '/dev/shm',
      type: 'bind',
      source: '/var/lib/ctr/containers/x/shm',
      options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec'],
    });
  });

  test('a private IPC container keeps its own /dev/shm tmpfs', () => {
    expect(shm(spec({}))).toMatchObject({ type: 'tmpfs' });
  });

  test('the record keeps the joins and a shareable /dev/shm\'s size, and nothing for other containers', () => {
    expect(joinsAndShm({ pid: 'container:aaa', ipc: 'shareable', shmSize: '8m' })).toEqual({ joins: { pid: 'aaa' }, shmSize: 8 * 1024 * 1024 });
    expect(joinsAndShm({ ipc: 'shareable' })).toEqual({ shmSize: 64 * 1024 * 1024 });
    expect(joinsAndShm({ pid: 'host', ipc: 'private' })).toEqual({});
  });
});

describe('what a start joins', () => {
  test('the running container\'s PID namespace by its process', async () => {
    const joined = await joinedNamespaces({ pid: 'aaa' }, () => owner({ running: true, pid: 4242 }));
    const made = applySpecOpts(spec({ pid: 'container:aaa' }), [withJoinedNamespaces(joined)]);
    expect(namespace(made, 'pid')).toEqual({ type: 'pid', path: '/proc/4242/ns/pid' });
  });

  test('the IPC namespace with the other container\'s /dev/shm', async () => {
    const bind = { destination: '/dev/shm', type: 'bind', source: '/x/shm', options: ['rbind'] };
    const joined = await joinedNamespaces({ ipc: 'bbb' }, () => owner({ running: true, pid: 77 }, [bind]));
    const made = applySpecOpts(spec({ ipc: 'container:bbb' }), [withJoinedNamespaces(joined)]);
    expect(namespace(made, 'ipc')).toEqual({ type: 'ipc', path: '/proc/77/ns/ipc' });
    expect(shm(made)).toMatchObject({ type: 'bind', source: '/x/shm' });
  });

  test('the running container\'s network namespace by its process', async () => {
    const joined = await joinedNamespaces({ network: 'ccc' }, () => owner({ running: true, pid: 99 }));
    const made = applySpecOpts(spec({ network: { mode: 'container', id: 'ccc' } }), [withJoinedNamespaces(joined)]);
    expect(namespace(made, 'network')).toEqual({ type: 'network', path: '/proc/99/ns/net' });
  });

  test('a container that is not running is refused in dockerd\'s words', async () => {
    await expect(joinedNamespaces({ pid: 'aaa' }, () => owner({ running: false }))).rejects.toMatchObject({
      code: 'Conflict',
      message: 'failed to join PID namespace: container aaa is not running',
    });
  });

  test('an IPC namespace whose /dev/shm is the container\'s own is not shareable', async () => {
    const tmpfs = { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: [] };
    await expect(joinedNamespaces({ ipc: 'bbb' }, () => owner({ running: true, pid: 5 }, [tmpfs]))).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: 'failed to join IPC namespace: container bbb: non-shareable IPC (hint: use IpcMode:shareable for the donor container)',
    });
  });
});
