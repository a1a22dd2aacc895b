import { CtrError, invalidArgument } from '@ctr/errors';
import type { InitRequest, NodeAvailability, SwarmApi, SwarmSpec } from '@ctr/swarm';
import type { Command, Io } from '../command';
import { apiModule, localEngine, println } from '../context';
import { bool, flagValueError, list, num, str, type FlagSpec, type ParsedArgs } from '../flags';
import { sortedFlags, swarmCommand } from './service';

/**
 * `ctr swarm …`: docker 28's swarm commands. A CA rotation is refused by the swarm itself (its
 * error, as a daemon's answer), as is joining as a manager.
 */

/** Go's time.ParseDuration of a flag's value, in nanoseconds. */
function durationFlag(args: ParsedArgs, flag: string): number | undefined {
  const text = str(args, flag);
  if (text === undefined) return undefined;
  try {
    return (require('@ctr/dockerfile') as typeof import('@ctr/dockerfile')).parseDuration(text);
  } catch (error) {
    throw flagValueError(flag, text, (error as Error).message);
  }
}

/** The flags `init` and `update` share (docker's addSwarmFlags). */
const SPEC_FLAGS: FlagSpec[] = [
  { name: 'cert-expiry', type: 'string', valueName: 'duration', description: 'Validity period for node certificates (ns|us|ms|s|m|h) (default 2160h0m0s)' },
  { name: 'dispatcher-heartbeat', type: 'string', valueName: 'duration', description: 'Dispatcher heartbeat period (ns|us|ms|s|m|h) (default 5s)' },
  { name: 'external-ca', type: 'string', valueName: 'external-ca', description: 'Specifications of one or more certificate signing endpoints' },
  { name: 'max-snapshots', type: 'number', valueName: 'uint', description: 'Number of additional Raft snapshots to retain' },
  { name: 'snapshot-interval', type: 'number', valueName: 'uint', description: 'Number of log entries between Raft snapshots (default 10000)' },
  { name: 'task-history-limit', type: 'number', description: 'Task history retention limit (default 5)' },
];

/** docker's mergeSwarmSpec: what was given of `SPEC_FLAGS` (and `--autolock`) over `spec`. */
function mergeSpec(args: ParsedArgs, spec: Partial<SwarmSpec>): Partial<SwarmSpec> {
  if (str(args, 'external-ca') !== undefined) throw invalidArgument('--external-ca is not supported: ctr\'s swarm signs its node certificates with its own root CA');
  const merged: Partial<SwarmSpec> = structuredClone(spec);
  const history = num(args, 'task-history-limit');
  if (history !== undefined) merged.Orchestration = { ...merged.Orchestration, TaskHistoryRetentionLimit: history };
  const heartbeat = durationFlag(args, 'dispatcher-heartbeat');
  if (heartbeat !== undefined) merged.Dispatcher = { ...merged.Dispatcher, HeartbeatPeriod: heartbeat };
  const raft = { ...merged.Raft } as SwarmSpec['Raft'];
  const snapshots = num(args, 'max-snapshots');
  if (snapshots !== undefined) raft.KeepOldSnapshots = snapshots;
  const interval = num(args, 'snapshot-interval');
  if (interval !== undefined) raft.SnapshotInterval = interval;
  if (snapshots !== undefined || interval !== undefined) merged.Raft = raft;
  const expiry = durationFlag(args, 'cert-expiry');
  if (expiry !== undefined) merged.CAConfig = { ...merged.CAConfig, NodeCertExpiry: expiry };
  const autolock = args.flags['autolock'];
  if (typeof autolock === 'boolean') merged.EncryptionConfig = { AutoLockManagers: autolock };
  return merged;
}

const AVAILABILITIES: readonly NodeAvailability[] = ['active', 'pause', 'drain'];

function availabilityFlag(args: ParsedArgs): NodeAvailability | undefined {
  const given = str(args, 'availability');
  if (given === undefined) return undefined;
  const availability = given.toLowerCase() as NodeAvailability;
  if (!AVAILABILITIES.includes(availability)) throw invalidArgument(`invalid availability "${given}", only active, pause and drain are supported`);
  return availability;
}

/** docker's printJoinCommand: how a worker or a manager joins, with the node's manager address. */
async function printJoinCommand(swarm: SwarmApi, io: Io, nodeId: string, role: 'worker' | 'manager'): Promise<void> {
  const node = await swarm.inspectNode(nodeId);
  if (!node.ManagerStatus) return;
  const cluster = await swarm.inspect();
  const token = role === 'worker' ? cluster.JoinTokens.Worker : cluster.JoinTokens.Manager;
  io.stdout.write(`To add a ${role} to this swarm, run the following command:\n\n    ctr swarm join --token ${token} ${node.ManagerStatus.Addr}\n\n`);
}

/** docker's printUnlockCommand. */
function printUnlockCommand(io: Io, key: string): void {
  if (!key) return;
  io.stdout.write(
    `To unlock a swarm manager after it restarts, run the \`ctr swarm unlock\`\ncommand and provide the following key:\n\n    ${key}\n\nRemember to store this key in a password manager, since without it you\nwill not be able to restart the manager.\n`,
  );
}

const init = swarmCommand({
  name: 'init',
  usage: '[OPTIONS]',
  description: 'Initialize a swarm',
  flags: sortedFlags([
    { name: 'advertise-addr', type: 'string', description: 'Advertised address (format: "<ip|interface>[:port]")' },
    { name: 'autolock', type: 'bool', description: 'Enable manager autolocking (requiring an unlock key to start a stopped manager)' },
    { name: 'availability', type: 'string', description: 'Availability of the node ("active", "pause", "drain") (default "active")' },
    { name: 'data-path-addr', type: 'string', description: 'Address or interface to use for data path traffic (format: "<ip|interface>")' },
    { name: 'data-path-port', type: 'number', valueName: 'uint32', description: 'Port number to use for data path traffic (1024 - 49151). If no value is set or is set to 0, the default port (4789) is used.' },
    { name: 'default-addr-pool', type: 'list', valueName: 'ipNetSlice', description: 'default address pool in CIDR format (default [])' },
    { name: 'default-addr-pool-mask-length', type: 'number', valueName: 'uint32', description: 'default address pool subnet mask length (default 24)' },
    { name: 'force-new-cluster', type: 'bool', description: 'Force create a new cluster from current state' },
    { name: 'listen-addr', type: 'string', valueName: 'node-addr', description: 'Listen address (format: "<ip|interface>[:port]") (default 0.0.0.0:2377)' },
    ...SPEC_FLAGS,
  ]),
  args: [0, 0],
  async run(args, io, swarm) {
    const availability = availabilityFlag(args);
    const autolock = bool(args, 'autolock');
    const request: InitRequest = {
      ListenAddr: str(args, 'listen-addr') ?? '0.0.0.0:2377',
      AdvertiseAddr: str(args, 'advertise-addr') ?? '',
      DataPathAddr: str(args, 'data-path-addr') ?? '',
      DataPathPort: num(args, 'data-path-port') ?? 0,
      DefaultAddrPool: list(args, 'default-addr-pool').flatMap((pool) => pool.split(',')),
      ForceNewCluster: bool(args, 'force-new-cluster'),
      Spec: mergeSpec(args, {}),
      AutoLockManagers: autolock,
      SubnetSize: num(args, 'default-addr-pool-mask-length') ?? 24,
      ...(availability ? { Availability: availability } : {}),
    };
    const nodeId = await swarm.init(request);
    io.stdout.write(`Swarm initialized: current node (${nodeId}) is now a manager.\n\n`);
    await printJoinCommand(swarm, io, nodeId, 'worker');
    println(io, "To add a manager to this swarm, run 'ctr swarm join-token manager' and follow the instructions.");
    if (autolock) printUnlockCommand(io, (await swarm.unlockKey()).UnlockKey);
    return 0;
  },
});

const join = swarmCommand({
  name: 'join',
  usage: '[OPTIONS] HOST:PORT',
  description: 'Join a swarm as a node and/or manager',
  flags: [
    { name: 'advertise-addr', type: 'string', description: 'Advertised address (format: "<ip|interface>[:port]")' },
    { name: 'availability', type: 'string', description: 'Availability of the node ("active", "pause", "drain") (default "active")' },
    { name: 'data-path-addr', type: 'string', description: 'Address or interface to use for data path traffic (format: "<ip|interface>")' },
    { name: 'listen-addr', type: 'string', valueName: 'node-addr', description: 'Listen address (format: "<ip|interface>[:port]") (default 0.0.0.0:2377)' },
    { name: 'token', type: 'string', description: 'Token for entry into the swarm' },
  ],
  args: [1, 1],
  async run(args, io, swarm) {
    const availability = availabilityFlag(args);
    await swarm.join({
      ListenAddr: str(args, 'listen-addr') ?? '0.0.0.0:2377',
      AdvertiseAddr: str(args, 'advertise-addr') ?? '',
      DataPathAddr: str(args, 'data-path-addr') ?? '',
      RemoteAddrs: [args.positionals[0] as string],
      JoinToken: str(args, 'token') ?? '',
      ...(availability ? { Availability: availability } : {}),
    });
    const info = await swarm.info();
    println(io, info.ControlAvailable ? 'This node joined a swarm as a manager.' : 'This node joined a swarm as a worker.');
    return 0;
  },
});

const joinToken = swarmCommand({
  name: 'join-token',
  usage: '[OPTIONS] (worker|manager)',
  description: 'Manage join tokens',
  flags: [
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only display token' },
    { name: 'rotate', type: 'bool', description: 'Rotate join token' },
  ],
  args: [1, 1],
  async run(args, io, swarm) {
    const role = args.positionals[0] as string;
    if (role !== 'worker' && role !== 'manager') throw invalidArgument(`unknown role ${role}`);
    const quiet = bool(args, 'quiet');
    if (bool(args, 'rotate')) {
      const cluster = await swarm.inspect();
      await swarm.update(cluster.Version.Index, cluster.Spec, role === 'worker' ? { RotateWorkerToken: true } : { RotateManagerToken: true });
      if (!quiet) io.stdout.write(`Successfully rotated ${role} join token.\n\n`);
    }
    const cluster = await swarm.inspect();
    if (quiet) {
      println(io, role === 'worker' ? cluster.JoinTokens.Worker : cluster.JoinTokens.Manager);
      return 0;
    }
    await printJoinCommand(swarm, io, (await swarm.info()).NodeID, role);
    return 0;
  },
});

const leave = swarmCommand({
  name: 'leave',
  usage: '[OPTIONS]',
  description: 'Leave the swarm',
  flags: [{ name: 'force', short: 'f', type: 'bool', description: 'Force this node to leave the swarm, ignoring warnings' }],
  args: [0, 0],
  async run(args, io, swarm) {
    await swarm.leave(bool(args, 'force'));
    println(io, 'Node left the swarm.');
    return 0;
  },
});

/**
 * The hidden `ctr swarm agent`: this root's node agent (the cluster port on a manager, the
 * session with the manager on a worker), started detached by ctr itself when the root is in a
 * swarm; it ends when the root leaves the swarm, or on SIGTERM. Its engine follows container
 * exits (as ctrd's), so a worker sees its tasks' containers end.
 */
const agent: Command = {
  name: 'agent',
  hidden: true,
  usage: '',
  description: "Run this root's swarm node agent (ctr starts it)",
  flags: [],
  args: [0, 0],
  async run(_args, io) {
    const stop = new AbortController();
    const end = (): void => stop.abort();
    process.once('SIGTERM', end);
    process.once('SIGINT', end);
    const engine = localEngine();
    try {
      await engine.startMonitor();
      const { Swarm } = require('@ctr/swarm') as typeof import('@ctr/swarm');
      // Its agent.log: ctrd's lines (dockerd's format and time, info and above).
      const log = apiModule().daemonLog((line) => io.stderr.write(`${line}\n`), () => 'info', { timestamps: true });
      await new Swarm({ engine, log }).runAgent(stop.signal);
    } finally {
      await engine.close();
    }
    return 0;
  },
};

const update = swarmCommand({
  name: 'update',
  usage: '[OPTIONS]',
  description: 'Update the swarm',
  flags: sortedFlags([{ name: 'autolock', type: 'bool', description: 'Change manager autolocking setting (true|false)' }, ...SPEC_FLAGS]),
  args: [0, 0],
  async run(args, io, swarm) {
    const cluster = await swarm.inspect();
    const wasLocked = cluster.Spec.EncryptionConfig.AutoLockManagers;
    const spec = mergeSpec(args, cluster.Spec) as SwarmSpec;
    await swarm.update(cluster.Version.Index, spec);
    println(io, 'Swarm updated.');
    if (!wasLocked && spec.EncryptionConfig.AutoLockManagers) printUnlockCommand(io, (await swarm.unlockKey()).UnlockKey);
    return 0;
  },
});

const unlock = swarmCommand({
  name: 'unlock',
  usage: '',
  description: 'Unlock swarm',
  flags: [],
  args: [0, 0],
  async run(_args, io, swarm) {
    const info = await swarm.info();
    if (info.LocalNodeState === 'inactive') throw invalidArgument('This node is not part of a swarm');
    if (info.LocalNodeState !== 'locked') throw invalidArgument('Error: swarm is not locked');
    if (io.stdin.isTTY) io.stdout.write('Enter unlock key: ');
    const key = await readLine(io);
    await swarm.unlock(key.trim());
    return 0;
  },
});

/** One line of stdin: the unlock key, typed or piped. */
async function readLine(io: Io): Promise<string> {
  let text = '';
  for await (const chunk of io.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split('\n', 1)[0] as string;
}

const unlockKey = swarmCommand({
  name: 'unlock-key',
  usage: '[OPTIONS]',
  description: 'Manage the unlock key',
  flags: [
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only display token' },
    { name: 'rotate', type: 'bool', description: 'Rotate unlock key' },
  ],
  args: [0, 0],
  async run(args, io, swarm) {
    const quiet = bool(args, 'quiet');
    if (bool(args, 'rotate')) {
      const cluster = await swarm.inspect();
      if (!cluster.Spec.EncryptionConfig.AutoLockManagers) throw invalidArgument('cannot rotate because autolock is not turned on');
      await swarm.update(cluster.Version.Index, cluster.Spec, { RotateManagerUnlockKey: true });
      if (!quiet) println(io, 'Successfully rotated manager unlock key.');
    }
    const { UnlockKey: key } = await swarm.unlockKey();
    if (!key) throw invalidArgument('no unlock key is set');
    if (quiet) println(io, key);
    else printUnlockCommand(io, key);
    return 0;
  },
});

const ca = swarmCommand({
  name: 'ca',
  usage: '[OPTIONS]',
  description: 'Display and rotate the root CA',
  flags: [
    { name: 'ca-cert', type: 'string', valueName: 'pem-file', description: 'Path to the PEM-formatted root CA certificate to use for the new cluster' },
    { name: 'ca-key', type: 'string', valueName: 'pem-file', description: 'Path to the PEM-formatted root CA key to use for the new cluster' },
    { name: 'cert-expiry', type: 'string', valueName: 'duration', description: 'Validity period for node certificates (ns|us|ms|s|m|h) (default 2160h0m0s)' },
    { name: 'detach', short: 'd', type: 'bool', description: 'Exit immediately instead of waiting for the root rotation to converge' },
    { name: 'external-ca', type: 'string', valueName: 'external-ca', description: 'Specifications of one or more certificate signing endpoints' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress progress output' },
    { name: 'rotate', type: 'bool', description: 'Rotate the swarm CA - if no certificate or key are provided, new ones will be generated' },
  ],
  args: [0, 0],
  async run(args, io, swarm) {
    const changing = ['ca-cert', 'ca-key', 'cert-expiry', 'external-ca'].filter((flag) => str(args, flag) !== undefined);
    if (!bool(args, 'rotate') && changing.length > 0) {
      throw invalidArgument(`${changing.map((flag) => `--${flag}`).join(', ')} flags cannot be used without --rotate`);
    }
    if (bool(args, 'rotate')) {
      throw new CtrError('Unsupported', "rotating the root CA is not supported by ctr's swarm yet", { hint: 'the CA and the node certificates it signed stay as `swarm init` made them' });
    }
    const cluster = await swarm.inspect();
    io.stdout.write(cluster.TLSInfo.TrustRoot.endsWith('\n') ? cluster.TLSInfo.TrustRoot : `${cluster.TLSInfo.TrustRoot}\n`);
    return 0;
  },
});

export const swarmCommands: Command[] = [agent, ca, init, join, joinToken, leave, unlock, unlockKey, update];
