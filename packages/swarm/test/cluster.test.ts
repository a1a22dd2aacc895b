import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Swarm } from '../src/swarm';
import { clusterFixture, type ClusterFixture } from './cluster-fixture';

const NOT_A_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

describe('outside a swarm', () => {
  let f: ClusterFixture;
  beforeAll(async () => {
    f = await clusterFixture();
  });
  afterAll(async () => {
    await f.cleanup();
  });

  test('info says the node is inactive', async () => {
    expect(await f.swarm.info()).toEqual({ NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null });
  });

  test('every manager verb is refused as dockerd refuses it (503)', async () => {
    await expect(f.swarm.inspect()).rejects.toMatchObject({ code: 'Unavailable', message: NOT_A_MANAGER });
    await expect(f.swarm.nodes()).rejects.toMatchObject({ code: 'Unavailable', message: NOT_A_MANAGER });
    await expect(f.swarm.secrets()).rejects.toMatchObject({ code: 'Unavailable', message: NOT_A_MANAGER });
  });

  test('leave says there is no swarm to leave', async () => {
    await expect(f.swarm.leave(true)).rejects.toMatchObject({ code: 'Unavailable', message: 'This node is not part of a swarm' });
  });

  test('an advertise address that is no address is refused before anything is made', async () => {
    await expect(f.init({ AdvertiseAddr: '0.0.0.0' })).rejects.toThrow('advertise address must be a non-zero IP address or network interface (with optional port number)');
    expect(f.swarm.context().store.active()).toBe(false);
  });

  test.each([
    ['with a port', '127.0.0.1:2377'],
    ['unspecified', '0.0.0.0'],
    ['neither an interface nor an address', 'no-such-interface'],
  ])("a daemon's default advertise address %s is refused at init in dockerd's words, before anything is made", async (_, address) => {
    const swarm = new Swarm({ engine: f.engine, defaultAdvertiseAddr: address });
    await expect(swarm.init({})).rejects.toMatchObject({ code: 'InvalidArgument', message: 'default advertise address must be a non-zero IP address or network interface (without a port number)' });
    expect(swarm.context().store.active()).toBe(false);
  });

  test('join with a token not in swarmkit\'s form is refused before any manager is asked (join itself: join.test.ts)', async () => {
    await expect(f.swarm.join({ RemoteAddrs: ['127.0.0.1:2377'], JoinToken: 'SWMTKN-1-x-y' })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: 'rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster',
    });
  });

  test('an init that cannot make the ingress network leaves no swarm behind', async () => {
    await f.engine.createNetwork({ name: 'ingress' });
    try {
      await expect(f.init({ AutoLockManagers: true })).rejects.toMatchObject({ code: 'AlreadyExists', message: 'network with name ingress already exists' });
      expect(f.swarm.context().store.active()).toBe(false);
      expect(existsSync(path.join(f.root, 'swarm'))).toBe(false);
      expect(existsSync(path.join(f.runRoot, 'swarm', 'unlocked'))).toBe(false);
    } finally {
      await f.engine.removeNetwork('ingress');
    }
  });
});

describe('a swarm of this engine', () => {
  let f: ClusterFixture;
  let nodeId: string;
  beforeAll(async () => {
    f = await clusterFixture();
    nodeId = await f.init({ AdvertiseAddr: 'lo:4567' });
  });
  afterAll(async () => {
    await f.cleanup();
  });

  test('init answers the node ID, in swarmkit form', () => {
    expect(nodeId).toMatch(/^[0-9a-z]{25}$/);
  });

  test('the swarm has Docker’s defaults', async () => {
    const swarm = await f.swarm.inspect();
    expect(swarm.Spec).toMatchObject({
      Name: 'default',
      Orchestration: { TaskHistoryRetentionLimit: 5 },
      Raft: { SnapshotInterval: 10000, LogEntriesForSlowFollowers: 500, ElectionTick: 10, HeartbeatTick: 1 },
      Dispatcher: { HeartbeatPeriod: 5_000_000_000 },
      CAConfig: { NodeCertExpiry: 7_776_000_000_000_000 },
      EncryptionConfig: { AutoLockManagers: false },
    });
    expect([swarm.SubnetSize, swarm.DataPathPort, swarm.RootRotationInProgress]).toEqual([24, 4789, false]);
  });

  test('its root CA is a real self-signed certificate, and the join tokens carry its digest', async () => {
    const swarm = await f.swarm.inspect();
    const cert = new X509Certificate(swarm.TLSInfo.TrustRoot);
    expect(cert.subject).toBe('CN=swarm-ca');
    expect(cert.verify(cert.publicKey)).toBe(true);
    const digest = BigInt(`0x${createHash('sha256').update(swarm.TLSInfo.TrustRoot).digest('hex')}`).toString(36).padStart(50, '0');
    for (const token of [swarm.JoinTokens.Worker, swarm.JoinTokens.Manager]) expect(token).toMatch(new RegExp(`^SWMTKN-1-${digest}-[0-9a-z]{25}$`));
    expect(swarm.JoinTokens.Worker).not.toBe(swarm.JoinTokens.Manager);
  });

  test('a second init is refused in dockerd’s words', async () => {
    await expect(f.init()).rejects.toMatchObject({
      code: 'Unavailable',
      message: 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.',
    });
  });

  test('info shows the node, the interface’s address it advertises and the cluster without its tokens', async () => {
    const info = await f.swarm.info();
    expect(info).toMatchObject({ NodeID: nodeId, NodeAddr: '127.0.0.1', LocalNodeState: 'active', ControlAvailable: true, Error: '', Nodes: 1, Managers: 1 });
    expect(info.RemoteManagers).toEqual([{ NodeID: nodeId, Addr: '127.0.0.1:4567' }]);
    expect(info.Cluster?.ID).toBe((await f.swarm.inspect()).ID);
    expect(info.Cluster).not.toHaveProperty('JoinTokens');
  });

  test('init made the ingress network', async () => {
    expect((await f.engine.networks()).filter((n) => n.Ingress).map((n) => [n.Name, n.Driver, n.Scope])).toEqual([['ingress', 'overlay', 'swarm']]);
  });

  test('an update rotates the token asked for and keeps the other', async () => {
    const before = await f.swarm.inspect();
    await f.swarm.update(before.Version.Index, before.Spec, { RotateWorkerToken: true });
    const after = await f.swarm.inspect();
    expect(after.JoinTokens.Worker).not.toBe(before.JoinTokens.Worker);
    expect(after.JoinTokens.Manager).toBe(before.JoinTokens.Manager);
    expect(after.Version.Index).toBeGreaterThan(before.Version.Index);
  });

  test('an update of a version read before another update is refused', async () => {
    const read = await f.swarm.inspect();
    await f.swarm.update(read.Version.Index, { ...read.Spec, Labels: { a: 'b' } });
    await expect(f.swarm.update(read.Version.Index, read.Spec)).rejects.toMatchObject({ code: 'Conflict', message: 'rpc error: code = Unknown desc = update out of sequence' });
    expect((await f.swarm.inspect()).Spec.Labels).toEqual({ a: 'b' });
  });

  test('a spec named other than "default" is refused', async () => {
    const read = await f.swarm.inspect();
    await expect(f.swarm.update(read.Version.Index, { ...read.Spec, Name: 'mine' })).rejects.toThrow('swarm spec must be named "default"');
  });

  test('leave without force is refused for the last manager, in dockerd’s words', async () => {
    await expect(f.swarm.leave(false)).rejects.toMatchObject({
      code: 'Unavailable',
      message: 'You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message.',
    });
    expect((await f.swarm.info()).LocalNodeState).toBe('active');
  });
});

describe('autolock', () => {
  let f: ClusterFixture;
  /** The key as `init --autolock` shows it, for the user to keep. */
  let key: string;
  beforeAll(async () => {
    f = await clusterFixture();
    await f.init({ AutoLockManagers: true });
    key = (await f.swarm.unlockKey()).UnlockKey;
  });
  afterAll(async () => {
    await f.cleanup();
  });

  /** What a reboot does to the swarm: the run root's unlocked state is gone. */
  const reboot = (): void => rmSync(path.join(f.runRoot, 'swarm', 'unlocked'), { force: true });

  test('init with autolock gives an SWMKEY-1 unlock key', () => {
    expect(key).toMatch(/^SWMKEY-1-[A-Za-z0-9+/]{43}$/);
  });

  test('after a reboot the swarm is locked: verbs are refused and info says so', async () => {
    reboot();
    await expect(f.swarm.inspect()).rejects.toMatchObject({
      code: 'Unavailable',
      message: 'Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" to unlock it.',
    });
    expect(await f.swarm.info()).toMatchObject({ LocalNodeState: 'locked', ControlAvailable: false });
  });

  test('a wrong key does not unlock it; the right one does', async () => {
    reboot();
    await expect(f.swarm.unlock('SWMKEY-1-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).rejects.toMatchObject({ code: 'Unauthorized', message: 'swarm could not be unlocked: invalid key provided' });
    await expect(f.swarm.unlock('not-a-key')).rejects.toMatchObject({ code: 'InvalidArgument', message: 'invalid key string' });
    await f.swarm.unlock(key);
    expect((await f.swarm.info()).LocalNodeState).toBe('active');
  });

  test('unlocking an unlocked swarm is refused', async () => {
    await expect(f.swarm.unlock((await f.swarm.unlockKey()).UnlockKey)).rejects.toMatchObject({ code: 'Conflict', message: 'swarm is not locked' });
  });

  test('rotating the unlock key replaces it', async () => {
    const { UnlockKey } = await f.swarm.unlockKey();
    const read = await f.swarm.inspect();
    await f.swarm.update(read.Version.Index, read.Spec, { RotateManagerUnlockKey: true });
    expect((await f.swarm.unlockKey()).UnlockKey).not.toBe(UnlockKey);
  });
});

describe('leave --force', () => {
  let f: ClusterFixture;
  let first: string;
  beforeAll(async () => {
    f = await clusterFixture();
    first = await f.init();
    await f.swarm.createSecret({ Name: 'gone-with-the-swarm', Labels: {}, Data: Buffer.from('x').toString('base64') });
    await f.swarm.leave(true);
  });
  afterAll(async () => {
    await f.cleanup();
  });

  test('removes the swarm’s state', async () => {
    expect(existsSync(path.join(f.root, 'swarm'))).toBe(false);
    expect((await f.swarm.info()).LocalNodeState).toBe('inactive');
  });

  test('removes the swarm’s networks', async () => {
    expect((await f.engine.networks()).filter((n) => n.Scope === 'swarm')).toEqual([]);
  });

  test('lets the engine init a new swarm, with a new ID', async () => {
    const id = await f.init();
    expect(id).not.toBe(first);
    expect(await f.swarm.secrets()).toEqual([]);
  });
});
