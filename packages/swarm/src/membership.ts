import { timingSafeEqual } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CtrError, invalidArgument, unavailable, unsupported } from '@ctr/errors';
import { writeFileAtomic } from '@ctr/store';
import { stopAgent } from './agent';
import {
  certIdentity,
  certMatchesKey,
  csrCommonName,
  DEFAULT_NODE_CERT_EXPIRY_NS,
  issueManagerCert,
  newKeyAndCsr,
  readCredentials,
  readRootCa,
  signNodeCsr,
  writeCredentials,
  type CertIdentity,
} from './certs';
import type { SwarmContext } from './context';
import { caDigest, newId, type RootCa } from './ids';
import { nodeDescription } from './nodes';
import { removeSwarmNetworks } from './networks';
import { reconcile, removeAllTasks } from './orchestrator';
import { rpcError } from './store';
import { clusterClient, fetchRemoteCa, type ClusterClient, type ClusterRoutes } from './transport';
import type { Node, NodeAvailability, NodeRole, SwarmInspect } from './types';

/** What a root knows of its own place in a swarm (`<root>/swarm/node.json`), manager or worker. */
export interface LocalNode {
  NodeID: string;
  Role: NodeRole;
  ClusterID: string;
  /** The managers' cluster addresses (host:port). */
  ManagerAddrs: string[];
  /** Where this node's agent listens (host:port). */
  ListenAddr: string;
  /** Where the others reach it (host:port). */
  AdvertiseAddr: string;
  /** The address its overlay traffic (VXLAN) leaves from. */
  DataPathAddr: string;
}

/** dockerd's words when a verb needs a manager and this node is a worker (daemon/cluster/errors.go errNoManager). */
export const WORKER_REFUSAL =
  "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.";

const SWARM_EXISTS = 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.';

/** swarmkit's words for a token that is not the swarm's (ca/server.go). */
const BAD_TOKEN = 'A valid join token is necessary to join this cluster';

/** The one-manager refusal (multinode.md): raft is not built. */
export function oneManagerOnly(): CtrError {
  return unsupported("ctr's swarm has one manager: joining as a manager is not supported yet", { hint: 'join with the worker token ("ctr swarm join-token worker")' });
}

function nodeFile(ctx: SwarmContext): string {
  return path.join(ctx.root, 'swarm', 'node.json');
}

function readNodeFile(ctx: SwarmContext): LocalNode | undefined {
  try {
    return JSON.parse(readFileSync(nodeFile(ctx), 'utf8')) as LocalNode;
  } catch {
    return undefined;
  }
}

export async function writeLocalNode(ctx: SwarmContext, node: LocalNode): Promise<void> {
  await writeFileAtomic(nodeFile(ctx), `${JSON.stringify(node, null, 2)}\n`, { mode: 0o600 });
}

/**
 * This root's node: node.json's; for a root a session-38 `init` made (a manager with no
 * node.json), the one node in its store, written to node.json on this first read. Undefined
 * outside a swarm.
 */
export async function localNode(ctx: SwarmContext): Promise<LocalNode | undefined> {
  const stored = readNodeFile(ctx);
  if (stored) return stored;
  if (!ctx.store.active()) return undefined;
  const [cluster] = await ctx.store.list('cluster');
  const nodes = await ctx.store.list('nodes');
  const self = nodes[0];
  if (!cluster || !self || nodes.length !== 1) return undefined;
  const addr = self.ManagerStatus?.Addr ?? `${self.Status.Addr}:2377`;
  const migrated: LocalNode = {
    NodeID: self.ID,
    Role: 'manager',
    ClusterID: cluster.ID,
    ManagerAddrs: [addr],
    // Session 38 listened nowhere: its advertised address stands for the listener too.
    ListenAddr: addr,
    AdvertiseAddr: addr,
    DataPathAddr: self.Status.Addr,
  };
  await writeLocalNode(ctx, migrated);
  return migrated;
}

/** Whether this root is a swarm's worker (node.json, no cluster store): one read. */
export function isWorker(ctx: SwarmContext): boolean {
  return !ctx.store.active() && readNodeFile(ctx)?.Role === 'worker';
}

/** Where a node's agent serves (host:port): a worker's, for the manager's calls to it (its logs). */
export function agentAddress(node: Node): string | undefined {
  return node.Status.AgentAddr;
}

// ---------------------------------------------------------------- the manager's side

/** A join token's parts: `SWMTKN-1-<CA digest, base 36>-<secret>`; undefined when it is not one. */
function parseToken(token: string): { digestHex: string } | undefined {
  const m = /^SWMTKN-1-([0-9a-z]{50})-([0-9a-z]{25})$/.exec(token);
  if (!m) return undefined;
  let n = 0n;
  for (const c of m[1] as string) n = n * 36n + BigInt(Number.parseInt(c, 36));
  return { digestHex: n.toString(16).padStart(64, '0') };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * A node's state as the manager sees it move (its heartbeats stop or come back, it leaves);
 * on a change the services are reconciled (a down node's tasks are placed elsewhere).
 */
export async function markNode(ctx: SwarmContext, nodeId: string, state: 'ready' | 'down', message: string): Promise<void> {
  const moved = await ctx.store.transaction((tx) => {
    const node = tx.get('nodes', nodeId);
    if (!node || node.Status.State === state) return false;
    tx.update('nodes', { ...node, Status: { ...node.Status, State: state, Message: message } });
    return true;
  });
  if (moved) await reconcile(ctx);
}

/** What a joining node sends (POST /join). */
export interface JoinRequest {
  token: string;
  csr: string;
  availability: NodeAvailability;
  description: Node['Description'];
  /** The node's address as it advertises it (an IP; empty: the address its connection came from). */
  addr: string;
  /** Where its agent serves (host:port). */
  agentAddr: string;
}

/** What the manager answers a joining node. */
export interface JoinResponse {
  nodeId: string;
  cert: string;
  clusterId: string;
  managers: string[];
  heartbeatPeriodMs: number;
  dataPathPort: number;
}

/** When each node was last heard from (manager's agent, in memory): what the heartbeat watchdog reads. */
export type HeartbeatLog = Map<string, number>;

/** The cluster's heartbeat period in milliseconds (swarmkit's 5 s when unset). */
export function heartbeatMs(periodNs: number | undefined): number {
  return Math.max(100, Math.round((periodNs ?? 5e9) / 1e6));
}

function isJoinRequest(body: unknown): body is JoinRequest {
  const b = body as Partial<JoinRequest> | null;
  return typeof b === 'object' && b !== null && typeof b.token === 'string' && typeof b.csr === 'string' && typeof b.description === 'object' && b.description !== null;
}

/** The cluster object on the manager. */
async function clusterOf(ctx: SwarmContext): Promise<SwarmInspect> {
  const [c] = await ctx.store.list('cluster');
  if (!c) throw unavailable('This node is not a swarm manager.');
  return c;
}

function rootCaOf(ctx: SwarmContext): RootCa {
  const ca = readRootCa(ctx);
  if (!ca) throw unavailable('this swarm has no root CA (no openssl when it was made)');
  return ca;
}

/** What a node asks to renew its certificate (POST /renew): a CSR for its new key, naming itself. */
export interface RenewRequest {
  csr: string;
}

/**
 * The manager's membership routes: the CA for a joining node, the join itself (token checked in
 * constant time, CSR signed, node recorded), certificate renewal, heartbeats (a down node is
 * ready again) and leave (the node is down until `node rm`, as docker shows it).
 */
export function membershipRoutes(ctx: SwarmContext, heard: HeartbeatLog): ClusterRoutes {
  const managers = async (): Promise<string[]> => (await localNode(ctx))?.ManagerAddrs ?? [];
  const cluster = (): Promise<SwarmInspect> => clusterOf(ctx);
  return {
    'GET /ca': async () => ({ cert: rootCaOf(ctx).cert }),
    'POST /join': async (request, signal): Promise<JoinResponse> => {
      if (!isJoinRequest(request.body)) throw invalidArgument('invalid join request');
      const body = request.body;
      const c = await cluster();
      if (sameSecret(body.token, c.JoinTokens.Manager)) throw oneManagerOnly();
      if (!sameSecret(body.token, c.JoinTokens.Worker)) throw rpcError('InvalidArgument', 'InvalidArgument', BAD_TOKEN);
      const ca = rootCaOf(ctx);
      const availability = body.availability || 'active';
      if (!['active', 'pause', 'drain'].includes(availability)) throw invalidArgument(`invalid Availability: ${JSON.stringify(availability)}`);
      const nodeId = newId();
      const cert = await signNodeCsr(ca, body.csr, { nodeId, role: 'worker', clusterId: c.ID }, c.Spec.CAConfig.NodeCertExpiry ?? DEFAULT_NODE_CERT_EXPIRY_NS, { signal });
      const description = { ...body.description, TLSInfo: c.TLSInfo };
      await ctx.store.transaction((tx) =>
        tx.create('nodes', {
          ID: nodeId,
          Spec: { Labels: {}, Role: 'worker', Availability: availability },
          Description: description,
          Status: { State: 'ready', Addr: body.addr || request.remoteAddress, ...(body.agentAddr ? { AgentAddr: body.agentAddr } : {}) },
        }),
      );
      heard.set(nodeId, Date.now());
      // A global service gets a task on the new node.
      void reconcile(ctx).catch(() => undefined);
      return { nodeId, cert, clusterId: c.ID, managers: await managers(), heartbeatPeriodMs: heartbeatMs(c.Spec.Dispatcher.HeartbeatPeriod), dataPathPort: c.DataPathPort };
    },
    /**
     * A member renews its certificate (swarmkit's renewal: the caller is known by the certificate
     * it calls with, which the transport checked is of a node in the store). The CSR must name
     * the caller; the new certificate has the node's current role and the cluster's current
     * NodeCertExpiry.
     */
    'POST /renew': async (request, signal) => {
      const csr = (request.body as Partial<RenewRequest> | null)?.csr;
      if (typeof csr !== 'string') throw invalidArgument('invalid renewal request: a CSR is needed');
      const node = await ctx.store.get('nodes', request.nodeId);
      // Removed since the transport's check.
      if (!node) throw rpcError('NotFound', 'NotFound', `node ${request.nodeId} not found when attempting to renew certificate`);
      const named = await csrCommonName(csr, signal);
      if (named !== request.nodeId) {
        throw new CtrError('Denied', `node ${request.nodeId} may renew its own certificate only: the certificate signing request names ${named === undefined ? 'no single node' : `node ${named}`}`);
      }
      const c = await cluster();
      const cert = await signNodeCsr(rootCaOf(ctx), csr, { nodeId: node.ID, role: node.Spec.Role, clusterId: c.ID }, c.Spec.CAConfig.NodeCertExpiry ?? DEFAULT_NODE_CERT_EXPIRY_NS, { signal });
      return { cert };
    },
    'POST /heartbeat': async (request) => {
      heard.set(request.nodeId, Date.now());
      await markNode(ctx, request.nodeId, 'ready', '');
      return { heartbeatPeriodMs: heartbeatMs((await cluster()).Spec.Dispatcher.HeartbeatPeriod), managers: await managers() };
    },
    'POST /leave': async (request) => {
      heard.delete(request.nodeId);
      await markNode(ctx, request.nodeId, 'down', 'node left the swarm');
      return {};
    },
  };
}

// ---------------------------------------------------------------- the joining node's side

export interface JoinOptions {
  RemoteAddrs: string[];
  JoinToken: string;
  ListenAddr?: string;
  AdvertiseAddr?: string;
  DataPathAddr?: string;
  Availability?: NodeAvailability;
}

/**
 * `swarm join` as a worker: the manager's CA is fetched and checked against the token's digest
 * before anything is sent (swarmkit's words when it differs), then the join request (token,
 * CSR) goes over TLS pinned to that CA; the signed certificate and node.json are stored.
 */
export async function joinAsWorker(
  ctx: SwarmContext,
  options: JoinOptions,
  addresses: { listen: (given: string | undefined) => { host: string; port: string }; hostPort: (host: string, port: string) => string },
  signal?: AbortSignal,
): Promise<LocalNode> {
  if (ctx.store.active() || readNodeFile(ctx)) throw unavailable(SWARM_EXISTS);
  const remote = options.RemoteAddrs[0];
  if (!remote) throw invalidArgument('a manager address is needed to join a swarm');
  const token = parseToken(options.JoinToken);
  if (!token) throw invalidArgument(`rpc error: code = InvalidArgument desc = ${BAD_TOKEN}`, { hint: 'the token is the one "swarm join-token worker" prints on the manager' });
  const listen = addresses.listen(options.ListenAddr);
  const shown = await fetchRemoteCa(remote, signal);
  if (caDigest(shown.cert) !== token.digestHex) {
    throw new CtrError('InvalidArgument', `remote CA does not match fingerprint. Expected: ${token.digestHex}`, {
      hint: 'the token is not this manager\'s: check the address and the token',
    });
  }
  const given = options.AdvertiseAddr ? addresses.listen(options.AdvertiseAddr) : undefined;
  // Not told: the address this machine reached the manager from (swarmkit's choice too).
  const advertiseHost = given && given.host !== '0.0.0.0' ? given.host : shown.localAddress;
  const advertise = addresses.hostPort(advertiseHost, given?.port && options.AdvertiseAddr?.includes(':') ? given.port : listen.port);
  const { key, csr } = await newKeyAndCsr(undefined, signal);
  const request: JoinRequest = {
    token: options.JoinToken,
    csr,
    availability: options.Availability ?? 'active',
    description: await nodeDescription(ctx, shown.cert),
    addr: advertiseHost,
    agentAddr: advertise,
  };
  const answer = await clusterClient({ ca: shown.cert }, remote, 'manager').call<JoinResponse>('POST', '/join', request, { signal });
  const identity = certIdentity(answer.cert);
  if (!identity || identity.nodeId !== answer.nodeId || identity.role !== 'worker') throw new CtrError('Internal', 'the manager answered the join with a certificate that is not this node\'s');
  await writeCredentials(ctx, { ca: shown.cert, cert: answer.cert, key });
  const node: LocalNode = {
    NodeID: answer.nodeId,
    Role: 'worker',
    ClusterID: answer.clusterId,
    ManagerAddrs: answer.managers.length > 0 ? answer.managers : [remote],
    ListenAddr: addresses.hostPort(listen.host, listen.port),
    AdvertiseAddr: advertise,
    DataPathAddr: options.DataPathAddr || advertiseHost,
  };
  await writeLocalNode(ctx, node);
  return node;
}

// ---------------------------------------------------------------- certificate renewal

/** The manager renews its own certificate: it holds the CA, and signs with the cluster's current NodeCertExpiry. */
export async function renewManagerCertificate(ctx: SwarmContext, self: LocalNode, signal?: AbortSignal): Promise<void> {
  const c = await clusterOf(ctx);
  await issueManagerCert(ctx, rootCaOf(ctx), self.NodeID, c.ID, c.Spec.CAConfig.NodeCertExpiry ?? DEFAULT_NODE_CERT_EXPIRY_NS, signal);
}

/**
 * A worker renews its certificate: a new key, its CSR naming the node, signed by the manager
 * (POST /renew over the certificate it replaces); what comes back must be this node's, for that
 * key, before it replaces the old pair on disk.
 */
export async function renewWorkerCertificate(ctx: SwarmContext, self: LocalNode, manager: ClusterClient, signal?: AbortSignal): Promise<void> {
  const current = readCredentials(ctx);
  if (!current) throw new CtrError('Unavailable', 'this node has no swarm certificate to renew', { hint: 'leave the swarm and join it again' });
  const identity: CertIdentity = { nodeId: self.NodeID, role: self.Role, clusterId: self.ClusterID };
  const { key, csr } = await newKeyAndCsr(identity, signal);
  const request: RenewRequest = { csr };
  const { cert } = await manager.call<{ cert: string }>('POST', '/renew', request, { signal });
  const signed = typeof cert === 'string' && certMatchesKey(cert, key) ? certIdentity(cert) : undefined;
  if (!signed || signed.nodeId !== identity.nodeId || signed.role !== identity.role || signed.clusterId !== identity.clusterId) {
    throw new CtrError('Internal', "the manager answered the renewal with a certificate that is not this node's");
  }
  await writeCredentials(ctx, { ca: current.ca, cert, key });
}

/**
 * A worker leaves: the manager is told (best effort: it marks the node down), node.json goes
 * (so the agent stops), then everything the swarm put on this root — its tasks' containers and
 * files, its networks and routing mesh, the certificates. `fromAgent`: the agent itself leaves
 * because the manager refused it (removed by `node rm`): nothing to tell, and it has stopped.
 */
export async function leaveAsWorker(ctx: SwarmContext, options: { fromAgent: boolean }): Promise<void> {
  const self = readNodeFile(ctx);
  const credentials = readCredentials(ctx);
  if (!options.fromAgent && self && credentials) {
    for (const addr of self.ManagerAddrs) {
      try {
        await clusterClient(credentials, addr, 'manager').call('POST', '/leave', {}, { timeoutMs: 5_000 });
        break;
      } catch {
        // A manager that removed the node already, or that does not answer: the node leaves anyway.
      }
    }
  }
  rmSync(nodeFile(ctx), { force: true });
  if (!options.fromAgent) await stopAgent(ctx);
  await removeAllTasks(ctx);
  await removeSwarmNetworks(ctx);
  rmSync(path.join(ctx.root, 'swarm'), { recursive: true, force: true });
}
