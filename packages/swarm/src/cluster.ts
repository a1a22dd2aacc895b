import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CtrError, invalidArgument, unavailable } from '@ctr/errors';
import { writeFileAtomic } from '@ctr/store';
import type { SwarmContext } from './context';
import { stopAgent } from './agent';
import { certificatesDir, checkNodeCertExpiry, issueManagerCert } from './certs';
import { caDigest, generateRootCa, joinToken, newId, newUnlockKey, tlsInfo, unlockKeyMatches } from './ids';
import { isWorker, joinAsWorker, leaveAsWorker, localNode, WORKER_REFUSAL, writeLocalNode, type JoinOptions } from './membership';
import { createIngressNetwork, removeSwarmNetworks } from './networks';
import { newNode } from './nodes';
import { removeAllTasks } from './orchestrator';
import type { InitRequest, SwarmInfo, SwarmInspect, SwarmSpec, SwarmUpdateFlags } from './types';

/** swarmkit's manager port: where the manager's agent serves the cluster (transport.ts). */
const MANAGER_PORT = '2377';

/** dockerd's errors for a node outside a swarm or with a locked one (daemon/cluster/errors.go, cluster.go), 503 as dockerd answers. */
const NOT_A_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
const SWARM_EXISTS = 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.';
const SWARM_LOCKED = 'Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" to unlock it.';

/** swarmkit's defaults for a new cluster's spec, as `docker swarm inspect` shows them after a plain `init`. */
export function defaultSwarmSpec(): SwarmSpec {
  return {
    Name: 'default',
    Labels: {},
    Orchestration: { TaskHistoryRetentionLimit: 5 },
    Raft: { SnapshotInterval: 10000, KeepOldSnapshots: 0, LogEntriesForSlowFollowers: 500, ElectionTick: 10, HeartbeatTick: 1 },
    Dispatcher: { HeartbeatPeriod: 5_000_000_000 },
    CAConfig: { NodeCertExpiry: 7_776_000_000_000_000 },
    TaskDefaults: {},
    EncryptionConfig: { AutoLockManagers: false },
  };
}

// ---------------------------------------------------------------- where the swarm keeps its keys

function unlockKeyFile(ctx: SwarmContext): string {
  return path.join(ctx.root, 'swarm', 'unlock-key');
}

/**
 * Autolock's state that dies with the machine: a swarm with AutoLockManagers is unlocked from
 * init (or `swarm unlock`) until the next boot, as dockerd's is until the daemon restarts.
 */
function unlockedMarker(ctx: SwarmContext): string {
  return path.join(ctx.runRoot, 'swarm', 'unlocked');
}

function markUnlocked(ctx: SwarmContext): void {
  mkdirSync(path.dirname(unlockedMarker(ctx)), { recursive: true, mode: 0o700 });
  writeFileSync(unlockedMarker(ctx), '', { mode: 0o600 });
}

function storedUnlockKey(ctx: SwarmContext): string | undefined {
  try {
    return readFileSync(unlockKeyFile(ctx), 'utf8');
  } catch {
    return undefined;
  }
}

/** The swarm's one cluster object (swarmkit's `default` cluster). */
async function clusterObject(ctx: SwarmContext): Promise<SwarmInspect> {
  const [cluster] = await ctx.store.list('cluster');
  if (!cluster) throw unavailable(NOT_A_MANAGER);
  return cluster;
}

function locked(ctx: SwarmContext, cluster: SwarmInspect): boolean {
  return cluster.Spec.EncryptionConfig.AutoLockManagers && !existsSync(unlockedMarker(ctx));
}

/** What every swarm verb checks first: this node is a manager of an unlocked swarm (dockerd's errNoManager). */
export async function requireManager(ctx: SwarmContext): Promise<SwarmInspect> {
  if (!ctx.store.active()) throw unavailable(isWorker(ctx) ? WORKER_REFUSAL : NOT_A_MANAGER);
  const cluster = await clusterObject(ctx);
  if (locked(ctx, cluster)) throw unavailable(SWARM_LOCKED);
  return cluster;
}

// ---------------------------------------------------------------- addresses

/** An `ip`, `ip:port`, `[ip6]:port` or `:port` (docker's forms of a swarm address): its host and port, either may be empty. */
function splitHostPort(address: string): { host: string; port: string } {
  const bracketed = /^\[([^\]]+)\](?::(\d*))?$/.exec(address);
  if (bracketed) return { host: bracketed[1] as string, port: bracketed[2] ?? '' };
  if (isIP(address) === 6) return { host: address, port: '' };
  const colon = address.lastIndexOf(':');
  if (colon === -1) return { host: address, port: '' };
  return { host: address.slice(0, colon), port: address.slice(colon + 1) };
}

/**
 * dockerd's resolveInterfaceAddr: a name that is one of the host's interfaces stands for that
 * interface's one IPv4 (else IPv6) address; undefined when no interface has that name.
 */
function interfaceAddress(name: string): string | undefined {
  const addresses = os.networkInterfaces()[name];
  if (addresses === undefined) return undefined;
  const pick = (family: 'IPv4' | 'IPv6'): string | undefined => {
    const found = addresses.filter((a) => a.family === family);
    if (found.length > 1) throw invalidArgument(`interface ${name} has more than one ${family} address (${found[0]?.address} and ${found[1]?.address})`);
    return found[0]?.address;
  };
  const address = pick('IPv4') ?? pick('IPv6');
  if (address === undefined) throw invalidArgument(`interface ${name} has no usable IPv4 or IPv6 address`);
  return address;
}

/**
 * What a node advertises when it is not told: the host's address on the interface of its
 * default route (/proc/net/route: read, nothing sent); without one, the host's only address
 * beside loopback (a machine cabled to its peers alone); else 127.0.0.1, a swarm of this machine.
 */
export function defaultAdvertiseAddress(): string {
  let routes: string[];
  try {
    routes = readFileSync('/proc/net/route', 'utf8').split('\n').slice(1);
  } catch {
    return '127.0.0.1';
  }
  const defaults = routes
    .map((line) => line.trim().split(/\s+/))
    // Destination 0.0.0.0 with mask 0 and the route up (RTF_UP, flag 1).
    .filter((f) => f[1] === '00000000' && f[7] === '00000000' && (Number.parseInt(f[3] ?? '0', 16) & 1) === 1)
    .sort((a, b) => Number(a[6]) - Number(b[6]));
  for (const route of defaults) {
    const v4 = os.networkInterfaces()[route[0] ?? '']?.find((a) => a.family === 'IPv4' && !a.internal);
    if (v4) return v4.address;
  }
  const addresses = Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).filter((a) => a.family === 'IPv4' && !a.internal));
  return addresses.length === 1 ? (addresses[0]?.address as string) : '127.0.0.1';
}

/** `--listen-addr` (default 0.0.0.0:2377) as dockerd resolves it: an interface's address or an IP, with its port. */
export function resolveListenAddr(given: string | undefined): { host: string; port: string } {
  const { host, port } = splitHostPort(given ?? '');
  const iface = host === '' ? undefined : interfaceAddress(host);
  const resolved = iface ?? (host === '' ? '0.0.0.0' : host);
  if (isIP(resolved) === 0) throw invalidArgument('listen address must be an IP address or network interface (with optional port number)');
  return { host: resolved, port: port || MANAGER_PORT };
}

const unspecified = (host: string): boolean => host === '0.0.0.0' || host === '::';

/**
 * `--advertise-addr` as dockerd resolves it (an interface's address or a non-zero IP, the listen
 * port unless it names one); not given: the daemon's default (an interface or an IP, without a
 * port) with the listen port, else the listen address when it names one, else the default route's.
 */
function resolveAdvertiseAddr(given: string | undefined, listen: { host: string; port: string }, daemonDefault: string | undefined): { host: string; port: string } {
  if (!given && daemonDefault) {
    const resolved = interfaceAddress(daemonDefault) ?? daemonDefault;
    if (isIP(resolved) === 0 || unspecified(resolved)) {
      throw invalidArgument('default advertise address must be a non-zero IP address or network interface (without a port number)', { hint: "fix the daemon's swarm-default-advertise-addr, or give --advertise-addr" });
    }
    return { host: resolved, port: listen.port };
  }
  if (!given) return { host: unspecified(listen.host) ? defaultAdvertiseAddress() : listen.host, port: listen.port };
  const { host, port } = splitHostPort(given);
  const resolved = interfaceAddress(host) ?? host;
  if (isIP(resolved) === 0 || unspecified(resolved)) {
    throw invalidArgument('advertise address must be a non-zero IP address or network interface (with optional port number)');
  }
  return { host: resolved, port: port || listen.port };
}

export function hostPort(host: string, port: string): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

// ---------------------------------------------------------------- the spec

function checkSpecName(spec: Partial<SwarmSpec> | undefined): void {
  if (spec?.Name && spec.Name !== 'default') throw invalidArgument('swarm spec must be named "default"');
}

/**
 * dockerd's MergeSwarmSpecToGRPC at init: what the request sets replaces the default; an
 * unset field, or a zero duration or count swarmkit would refuse, keeps it.
 */
function mergeSpec(base: SwarmSpec, over: Partial<SwarmSpec> | undefined): SwarmSpec {
  const merged = structuredClone(base);
  if (!over) return merged;
  const pick = <T>(value: T | undefined | null, current: T, zeroIsUnset = true): T => (value === undefined || value === null || (zeroIsUnset && value === 0) ? current : value);
  if (over.Labels) merged.Labels = { ...over.Labels };
  merged.Orchestration.TaskHistoryRetentionLimit = pick(over.Orchestration?.TaskHistoryRetentionLimit, merged.Orchestration.TaskHistoryRetentionLimit, false);
  for (const k of ['SnapshotInterval', 'LogEntriesForSlowFollowers', 'ElectionTick', 'HeartbeatTick'] as const) merged.Raft[k] = pick(over.Raft?.[k], merged.Raft[k]);
  merged.Raft.KeepOldSnapshots = pick(over.Raft?.KeepOldSnapshots, merged.Raft.KeepOldSnapshots, false);
  merged.Dispatcher.HeartbeatPeriod = pick(over.Dispatcher?.HeartbeatPeriod, merged.Dispatcher.HeartbeatPeriod);
  merged.CAConfig = { ...merged.CAConfig, ...definedOnly(over.CAConfig ?? {}) };
  merged.CAConfig.NodeCertExpiry = pick(over.CAConfig?.NodeCertExpiry, base.CAConfig.NodeCertExpiry);
  if (over.TaskDefaults?.LogDriver) merged.TaskDefaults = { LogDriver: structuredClone(over.TaskDefaults.LogDriver) };
  if (over.EncryptionConfig) merged.EncryptionConfig = { AutoLockManagers: over.EncryptionConfig.AutoLockManagers === true };
  return merged;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as Partial<T>;
}

/**
 * `swarm update`'s spec is the whole spec (the CLI sends back what it inspected, changed): a
 * part it leaves out is swarmkit's default, not the old value.
 */
function completeSpec(spec: SwarmSpec): SwarmSpec {
  const defaults = defaultSwarmSpec();
  return {
    ...spec,
    Name: 'default',
    Labels: spec.Labels ?? {},
    Orchestration: { ...defaults.Orchestration, ...definedOnly(spec.Orchestration ?? {}) },
    Raft: { ...defaults.Raft, ...definedOnly(spec.Raft ?? {}) },
    Dispatcher: { ...defaults.Dispatcher, ...definedOnly(spec.Dispatcher ?? {}) },
    CAConfig: { ...defaults.CAConfig, ...definedOnly(spec.CAConfig ?? {}) },
    TaskDefaults: spec.TaskDefaults ?? {},
    EncryptionConfig: { AutoLockManagers: spec.EncryptionConfig?.AutoLockManagers === true },
  };
}

/** dockerd's validateDefaultAddrPool and getDataPathPort. */
function checkAddressing(request: InitRequest): { pool: string[]; subnetSize: number; dataPathPort: number } {
  const pool = request.DefaultAddrPool && request.DefaultAddrPool.length > 0 ? request.DefaultAddrPool : ['10.0.0.0/8'];
  const subnetSize = request.SubnetSize || 24;
  for (const cidr of pool) {
    const [ip = '', bits = ''] = cidr.split('/');
    const prefix = Number(bits);
    if (isIP(ip) === 0 || !/^\d+$/.test(bits) || prefix > (isIP(ip) === 4 ? 32 : 128)) throw invalidArgument(`invalid CIDR address: ${cidr}`);
    if (subnetSize < prefix) throw invalidArgument(`SubnetSize ${subnetSize} is smaller than the pool ${cidr}'s prefix`);
  }
  if (subnetSize > 29) throw invalidArgument(`subnet size ${subnetSize} is too big: it leaves no room for tasks' addresses (at most 29)`);
  const dataPathPort = request.DataPathPort || 4789;
  if (dataPathPort < 1024 || dataPathPort > 49151) throw invalidArgument(`datapath port must be within range 1024 to 49151`);
  return { pool, subnetSize, dataPathPort };
}

// ---------------------------------------------------------------- the verbs

/** `swarm init`: this engine becomes the one manager (and worker) of a new swarm; its node's ID. */
export async function initSwarm(ctx: SwarmContext, request: InitRequest, signal?: AbortSignal): Promise<string> {
  if (isWorker(ctx)) throw unavailable(SWARM_EXISTS);
  if (ctx.store.active()) {
    // `--force-new-cluster` makes a swarm of this manager alone, keeping its state: on one node, the swarm as it is.
    if (!request.ForceNewCluster) throw unavailable(SWARM_EXISTS);
    await requireManager(ctx);
    const self = await localNode(ctx);
    if (self) return self.NodeID;
  }
  checkSpecName(request.Spec);
  const listen = resolveListenAddr(request.ListenAddr);
  const advertise = resolveAdvertiseAddr(request.AdvertiseAddr, listen, ctx.defaultAdvertiseAddr);
  const { pool, subnetSize, dataPathPort } = checkAddressing(request);
  const spec = mergeSpec(defaultSwarmSpec(), request.Spec);
  checkNodeCertExpiry(spec.CAConfig.NodeCertExpiry);
  if (request.AutoLockManagers) spec.EncryptionConfig.AutoLockManagers = true;

  const ca = await generateRootCa(signal);
  const node = await newNode(ctx, { addr: advertise.host, managerAddr: hostPort(advertise.host, advertise.port), availability: request.Availability || 'active', ca: ca?.cert });
  const clusterId = newId();
  // Without a CA (no openssl) the tokens still carry a digest, of the cluster's ID: nothing can join anyway.
  const digest = caDigest(ca?.cert ?? clusterId);

  const nodeId = await ctx.store.transaction(async (tx) => {
    // Another process may have initialised the swarm since the check above.
    if (tx.list('cluster').length > 0) throw unavailable(SWARM_EXISTS);
    // The manager's own certificate: its listener's, and what it shows when it calls a worker.
    if (ca) await issueManagerCert(ctx, ca, node.ID, clusterId, spec.CAConfig.NodeCertExpiry ?? defaultSwarmSpec().CAConfig.NodeCertExpiry ?? 0, signal);
    await writeLocalNode(ctx, {
      NodeID: node.ID,
      Role: 'manager',
      ClusterID: clusterId,
      ManagerAddrs: [hostPort(advertise.host, advertise.port)],
      ListenAddr: hostPort(listen.host, listen.port),
      AdvertiseAddr: hostPort(advertise.host, advertise.port),
      DataPathAddr: request.DataPathAddr || advertise.host,
    });
    if (spec.EncryptionConfig.AutoLockManagers) await writeFileAtomic(unlockKeyFile(ctx), newUnlockKey(), { mode: 0o600 });
    tx.create('cluster', {
      ID: clusterId,
      Spec: spec,
      TLSInfo: tlsInfo(ca?.cert),
      RootRotationInProgress: false,
      DefaultAddrPool: pool,
      SubnetSize: subnetSize,
      DataPathPort: dataPathPort,
      JoinTokens: { Worker: joinToken(digest), Manager: joinToken(digest) },
    });
    return tx.create('nodes', node).ID;
  }, signal);
  try {
    await createIngressNetwork(ctx);
  } catch (error) {
    // dockerd keeps no state from an init that failed.
    await ctx.store.destroy();
    throw error;
  }
  markUnlocked(ctx);
  return nodeId;
}

/** `swarm join`: this engine becomes a worker of the swarm whose manager is at RemoteAddrs[0]. */
export async function joinSwarm(ctx: SwarmContext, request: JoinOptions, signal?: AbortSignal): Promise<void> {
  if (ctx.store.active() || isWorker(ctx)) throw unavailable(SWARM_EXISTS);
  await joinAsWorker(ctx, request, { listen: resolveListenAddr, hostPort }, signal);
}

/** `swarm inspect` (GET /swarm). */
export async function inspectSwarm(ctx: SwarmContext): Promise<SwarmInspect> {
  return requireManager(ctx);
}

/** `swarm update` (POST /swarm/update): the spec at `version`, and the tokens or unlock key asked to rotate. */
export async function updateSwarm(ctx: SwarmContext, version: number, spec: SwarmSpec, flags: SwarmUpdateFlags = {}): Promise<void> {
  await requireManager(ctx);
  checkSpecName(spec);
  checkNodeCertExpiry(spec.CAConfig?.NodeCertExpiry);
  const next = completeSpec(spec);
  let unlockedNow = false;
  await ctx.store.transaction(async (tx) => {
    const [cluster] = tx.list('cluster');
    if (!cluster) throw unavailable(NOT_A_MANAGER);
    const cert = readCert(ctx);
    const digest = caDigest(cert ?? cluster.ID);
    const tokens = {
      Worker: flags.RotateWorkerToken ? joinToken(digest) : cluster.JoinTokens.Worker,
      Manager: flags.RotateManagerToken ? joinToken(digest) : cluster.JoinTokens.Manager,
    };
    const wasLocking = cluster.Spec.EncryptionConfig.AutoLockManagers;
    const locking = next.EncryptionConfig.AutoLockManagers;
    tx.update('cluster', { ...cluster, Spec: next, JoinTokens: tokens }, version);
    if (locking && (!wasLocking || flags.RotateManagerUnlockKey || storedUnlockKey(ctx) === undefined)) {
      await writeFileAtomic(unlockKeyFile(ctx), newUnlockKey(), { mode: 0o600 });
      unlockedNow = true;
    } else if (!locking) {
      rmSync(unlockKeyFile(ctx), { force: true });
    }
  });
  // The manager that turns autolock on is unlocked: it holds the key it just made.
  if (unlockedNow) markUnlocked(ctx);
}

function readCert(ctx: SwarmContext): string | undefined {
  try {
    return readFileSync(path.join(certificatesDir(ctx), 'swarm-root-ca.crt'), 'utf8');
  } catch {
    return undefined;
  }
}

/** `swarm unlock-key`: the key, empty when autolock is off (the CLI then says "No unlock key is set"). */
export async function swarmUnlockKey(ctx: SwarmContext): Promise<{ UnlockKey: string }> {
  const cluster = await requireManager(ctx);
  return { UnlockKey: cluster.Spec.EncryptionConfig.AutoLockManagers ? (storedUnlockKey(ctx) ?? '') : '' };
}

/**
 * `swarm unlock`: after a reboot a swarm with autolock refuses every verb until it is given its
 * key. The state is not encrypted on disk (see the README): the key only gates the swarm's API.
 */
export async function unlockSwarm(ctx: SwarmContext, key: string): Promise<void> {
  if (!ctx.store.active()) throw unavailable(NOT_A_MANAGER);
  const cluster = await clusterObject(ctx);
  if (!locked(ctx, cluster)) throw new CtrError('Conflict', 'swarm is not locked');
  const expected = storedUnlockKey(ctx);
  if (expected === undefined || !unlockKeyMatches(key, expected)) throw new CtrError('Unauthorized', 'swarm could not be unlocked: invalid key provided');
  markUnlocked(ctx);
}

/**
 * `swarm leave`: refused for a manager without force (ours is the last one: leaving erases the
 * swarm); with it, the tasks' containers, the swarm's networks and the routing mesh go, then the state.
 */
export async function leaveSwarm(ctx: SwarmContext, force: boolean): Promise<void> {
  // A worker leaves without `--force`: the swarm goes on without it.
  if (isWorker(ctx)) return leaveAsWorker(ctx, { fromAgent: false });
  if (!ctx.store.active()) throw unavailable('This node is not part of a swarm');
  const cluster = await clusterObject(ctx);
  if (!force) {
    if (locked(ctx, cluster)) throw unavailable('Swarm is encrypted and locked. Please unlock it first or use `--force` to ignore this message.');
    throw unavailable(
      'You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message.',
    );
  }
  // The cluster port closes before the state goes: an init right after listens on it again.
  await stopAgent(ctx);
  await removeAllTasks(ctx);
  // The routing mesh's proxy goes with the networks.
  await removeSwarmNetworks(ctx);
  await ctx.store.destroy();
  rmSync(unlockedMarker(ctx), { force: true });
}

/** `info`'s Swarm section (moby's Cluster.Info). */
export async function swarmInfo(ctx: SwarmContext): Promise<SwarmInfo> {
  const inactive: SwarmInfo = { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null };
  const local = await localNode(ctx);
  if (!local) return inactive;
  if (local.Role === 'worker') {
    // What a worker knows: itself and its managers' addresses (docker shows `Is Manager: false`).
    return {
      NodeID: local.NodeID,
      NodeAddr: splitHostPort(local.AdvertiseAddr).host,
      LocalNodeState: 'active',
      ControlAvailable: false,
      Error: '',
      RemoteManagers: local.ManagerAddrs.map((Addr) => ({ NodeID: '', Addr })),
    };
  }
  const [cluster] = await ctx.store.list('cluster');
  if (!cluster) return inactive;
  const nodes = await ctx.store.list('nodes');
  const self = nodes.find((n) => n.ID === local.NodeID);
  const base = {
    NodeID: local.NodeID,
    NodeAddr: self?.Status.Addr ?? '',
    RemoteManagers: nodes.filter((n) => n.ManagerStatus).map((n) => ({ NodeID: n.ID, Addr: n.ManagerStatus?.Addr ?? '' })),
  };
  if (locked(ctx, cluster)) return { ...base, LocalNodeState: 'locked', ControlAvailable: false, Error: SWARM_LOCKED };
  const { JoinTokens: _tokens, ...info } = cluster;
  return {
    ...base,
    LocalNodeState: 'active',
    ControlAvailable: true,
    Error: '',
    Nodes: nodes.length,
    Managers: nodes.filter((n) => n.ManagerStatus).length,
    Cluster: info,
  };
}
