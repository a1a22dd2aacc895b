import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess } from '../../../test/support/run-process';
import { RENEW_AFTER_VARIABLE, runAgent } from '../src/agent';
import { certIdentity, certMatchesKey, certValidity, newKeyAndCsr, readCredentials, signNodeCsr, writeCredentials, type CertIdentity } from '../src/certs';
import type { SwarmContext } from '../src/context';
import { generateRootCa, type RootCa } from '../src/ids';
import type { LocalNode } from '../src/membership';
import { keepCertificateRenewed, renewalTime } from '../src/renewal';
import { openClusterStore } from '../src/store';
import { testNodes, until, type TestNode, type TestNodes } from './support/nodes';

const HOUR_NS = 3_600_000_000_000;
const HOUR_MS = 3_600_000;

describe('when a node certificate is renewed', () => {
  test('at a random point between 50% and 80% of its validity (swarmkit\'s window)', () => {
    const validity = { from: 1_000_000, until: 1_000_000 + 100 * HOUR_MS };
    expect(renewalTime(validity, 0)).toBe(1_000_000 + 50 * HOUR_MS);
    expect(renewalTime(validity, 0.5)).toBe(1_000_000 + 65 * HOUR_MS);
    expect(renewalTime(validity, 0.999_999)).toBeLessThan(1_000_000 + 80 * HOUR_MS);
    for (let i = 0; i < 100; i++) {
      const at = renewalTime(validity);
      expect(at).toBeGreaterThanOrEqual(1_000_000 + 50 * HOUR_MS);
      expect(at).toBeLessThan(1_000_000 + 80 * HOUR_MS);
    }
  });
});

/** The renewal loop and the agent on a root of their own (no manager: what is tested happens before one is needed). */
describe('a node\'s certificate renewal loop', () => {
  const CLUSTER = 'loopcluster00000000000000';
  const NODE = 'loopworker000000000000000';
  let dir: string;
  let ca: RootCa;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-renewal-'));
    ca = (await generateRootCa()) as RootCa;
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  /** A worker's root whose certificate was signed at `signedAt` for an hour (and an hour of backdate). */
  async function workerRoot(name: string, signedAt: number): Promise<SwarmContext> {
    const root = join(dir, name);
    await mkdir(join(root, 'swarm'), { recursive: true });
    const ctx: SwarmContext = { root, runRoot: root, store: openClusterStore(root), engine: undefined as never };
    const identity: CertIdentity = { nodeId: NODE, role: 'worker', clusterId: CLUSTER };
    const { key, csr } = await newKeyAndCsr(identity);
    await writeCredentials(ctx, { ca: ca.cert, key, cert: await signNodeCsr(ca, csr, identity, HOUR_NS, { now: signedAt }) });
    const node: LocalNode = { NodeID: NODE, Role: 'worker', ClusterID: CLUSTER, ManagerAddrs: ['127.0.0.1:9'], ListenAddr: '127.0.0.1:0', AdvertiseAddr: '127.0.0.1:0', DataPathAddr: '127.0.0.1' };
    await writeFile(join(root, 'swarm', 'node.json'), JSON.stringify(node));
    return ctx;
  }

  test('a certificate past its window is renewed at once, and the server told', async () => {
    // Valid for 10 more minutes of its 2 hours: past 80%.
    const ctx = await workerRoot('past-window', Date.now() - 50 * 60_000);
    const stop = new AbortController();
    const events: string[] = [];
    const loop = keepCertificateRenewed(
      ctx,
      {
        renew: async () => {
          events.push('renew');
          stop.abort();
        },
        renewed: () => events.push('renewed'),
        renewsExpired: false,
      },
      stop.signal,
    );
    await loop;
    expect(events).toEqual(['renew', 'renewed']);
  });

  test('a worker whose renewals fail until its certificate expires ends with the expired error', async () => {
    // Expires in two seconds.
    const ctx = await workerRoot('expiring', Date.now() - HOUR_MS + 2_000);
    const until = certValidity((readCredentials(ctx) as { cert: string }).cert).until;
    const loop = keepCertificateRenewed(
      ctx,
      {
        renew: async () => {
          throw new Error('the manager is away');
        },
        renewed: () => undefined,
        renewsExpired: false,
      },
      new AbortController().signal,
    );
    await expect(loop).rejects.toMatchObject({ code: 'Unavailable', message: `this node's swarm certificate expired at ${new Date(until).toISOString()}: the manager no longer accepts it, and it cannot be renewed` });
  }, 30_000);

  test('a worker\'s agent whose certificate has expired stops at once with the typed error and what to do', async () => {
    const ctx = await workerRoot('expired', Date.now() - 100 * 86_400_000);
    await expect(runAgent(ctx, new AbortController().signal)).rejects.toMatchObject({
      code: 'Unavailable',
      message: expect.stringMatching(/^this node's swarm certificate expired at /),
      hint: 'leave the swarm on the node ("ctr swarm leave") and join it again ("ctr swarm join --token <token> <manager>"; "ctr swarm join-token worker" on the manager prints the token)',
    });
    // It serves nothing and holds no pid file: the next start says the same.
    expect(existsSync(join(ctx.runRoot, 'swarm', 'agent.pid'))).toBe(false);
  });
});

/**
 * Renewal across engines: a manager and a worker in network namespaces of their own, the ctr
 * command in each, the agents detached. The renewal point is driven by the agent's hidden
 * CTR_SWARM_CERT_RENEW_AFTER_MS (0: the first renewal as soon as the agent serves): the agent
 * is started again with it, then renews while it runs.
 */
describe('node certificates renewed across engines', () => {
  let t: TestNodes;
  let manager: TestNode;
  let worker: TestNode;
  let workerId: string;
  let ca: X509Certificate;

  jest.setTimeout(180_000);

  const ok = (node: TestNode, ...args: string[]): Promise<string> => t.ok(node, args);

  const certFile = (node: TestNode): string => join(node.root, 'swarm', 'certificates', 'swarm-node.crt');
  const keyFile = (node: TestNode): string => join(node.root, 'swarm', 'certificates', 'swarm-node.key');
  const fingerprint = (node: TestNode): string => new X509Certificate(readFileSync(certFile(node), 'utf8')).fingerprint256;

  /** The node's agent started again with its first renewal due at once; its pid. */
  async function restartRenewingAgent(node: TestNode): Promise<number> {
    await t.killAgent(node);
    // Any swarm verb starts the agent (on the worker a refused one too), in this environment.
    await t.ctr(node, ['node', 'ls'], { env: { [RENEW_AFTER_VARIABLE]: '0' } });
    const pid = t.agentPid(node);
    if (pid === undefined) throw new Error('the agent did not start again');
    return pid;
  }

  /** The certificate `node`'s agent shows a new connection on `addr` (from the manager's namespace). */
  async function servedFingerprint(addr: string): Promise<string> {
    const [host, port] = addr.split(':');
    const code = `const s=require('tls').connect({host:${JSON.stringify(host)},port:${port},rejectUnauthorized:false},()=>{process.stdout.write(s.getPeerX509Certificate().fingerprint256);s.end()})`;
    const c = t.command(manager, process.execPath, ['-e', code]);
    const result = await runProcess(c.file, c.args, { env: t.env(manager), timeoutMs: 30_000 });
    if (result.code !== 0) throw new Error(`tls connect: ${result.stderr}`);
    return result.stdout;
  }

  beforeAll(async () => {
    t = await testNodes(2);
    [manager, worker] = t.nodes as [TestNode, TestNode];
    [, workerId] = (await t.formSwarm()) as [string, string];
    ca = new X509Certificate(readFileSync(join(manager.root, 'swarm', 'certificates', 'swarm-root-ca.crt')));
  }, 180_000);

  afterAll(async () => {
    await t?.cleanup();
  }, 180_000);

  test('node inspect shows a node\'s TLSInfo as dockerd does: the root CA, and its certificate\'s issuer', async () => {
    const shown = JSON.parse(await ok(manager, 'node', 'inspect', '--format', '{{json .Description.TLSInfo}}', workerId)) as Record<string, string>;
    expect(shown['TrustRoot']).toBe(ca.toString());
    // The issuer of every node certificate is the root CA: its subject and key, as base64 DER.
    expect(shown['CertIssuerPublicKey']).toBe(ca.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'));
    expect(Buffer.from(shown['CertIssuerSubject'] ?? '', 'base64').toString('latin1')).toContain('swarm-ca');
    expect(shown).toEqual(JSON.parse(await ok(manager, 'info', '--format', '{{json .Swarm.Cluster.TLSInfo}}')));
  });

  test('the worker\'s agent renews its certificate while it runs: a new key, the same identity, replaced on disk', async () => {
    const before = { cert: readFileSync(certFile(worker), 'utf8'), key: readFileSync(keyFile(worker), 'utf8') };
    const pid = await restartRenewingAgent(worker);
    expect(await until(() => fingerprint(worker) !== new X509Certificate(before.cert).fingerprint256, 60_000)).toBe(true);
    const after = { cert: readFileSync(certFile(worker), 'utf8'), key: readFileSync(keyFile(worker), 'utf8') };
    expect(after.key).not.toBe(before.key);
    expect(certMatchesKey(after.cert, after.key)).toBe(true);
    expect(certIdentity(after.cert)).toEqual(certIdentity(before.cert));
    expect(new X509Certificate(after.cert).checkIssued(ca)).toBe(true);
    expect(statSync(keyFile(worker)).mode & 0o777).toBe(0o600);
    expect(existsSync(join(worker.root, 'swarm', 'certificates', '.swarm-node.crt'))).toBe(false);
    // The same process: the agent took the new certificate without restarting.
    expect(t.agentPid(worker)).toBe(pid);
  });

  test('the renewed worker\'s agent shows new connections its new certificate, and runs the tasks it is given', async () => {
    expect(await servedFingerprint(`${worker.addr}:2377`)).toBe(fingerprint(worker));
    await ok(manager, 'service', 'create', '--name', 'renewed', '--update-monitor', '1s', '--constraint', 'node.role==worker', '--stop-signal', 'SIGKILL', 'busybox:latest', 'sh', '-c', 'echo hello from the worker; sleep 300');
    const states = await ok(manager, 'service', 'ps', 'renewed', '--filter', 'desired-state=running', '--format', '{{.Node}} {{.CurrentState}}');
    expect(states).toMatch(/^\S+ Running /);
    expect((await ok(worker, 'ps', '-q', '--filter', 'label=com.docker.swarm.service.name=renewed')).trim()).not.toBe('');
  });

  test('the manager renews its own certificate, and the two keep talking with their new ones', async () => {
    const before = fingerprint(manager);
    const pid = await restartRenewingAgent(manager);
    expect(await until(() => fingerprint(manager) !== before, 60_000)).toBe(true);
    expect(certIdentity(readFileSync(certFile(manager), 'utf8'))?.role).toBe('manager');
    expect(await servedFingerprint(`${manager.addr}:2377`)).toBe(fingerprint(manager));
    expect(t.agentPid(manager)).toBe(pid);
    // The manager calls the worker (its logs), and the worker the manager (a new task).
    expect(await until(async () => (await t.ctr(manager, ['service', 'logs', 'renewed'])).stdout.includes('hello from the worker'))).toBe(true);
    await ok(manager, 'service', 'scale', 'renewed=2');
    expect(await until(async () => (await ok(worker, 'ps', '-q', '--filter', 'label=com.docker.swarm.service.name=renewed')).trim().split('\n').length === 2)).toBe(true);
  });

  test('swarm update refuses a certificate expiry under an hour, in swarmkit\'s words', async () => {
    const refused = await t.ctr(manager, ['swarm', 'update', '--cert-expiry', '59m']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('Error response from daemon: rpc error: code = InvalidArgument desc = minimum certificate expiry time is: 1h0m0s\n');
  });

  test('after swarm update --cert-expiry 1h, renewals are for an hour (and the hour of backdate)', async () => {
    await ok(manager, 'swarm', 'update', '--cert-expiry', '1h');
    expect(await ok(manager, 'info', '--format', '{{json .Swarm.Cluster.Spec.CAConfig.NodeCertExpiry}}')).toBe(`${HOUR_NS}\n`);
    const before = fingerprint(worker);
    await restartRenewingAgent(worker);
    expect(await until(() => fingerprint(worker) !== before, 60_000)).toBe(true);
    const { from, until: end } = certValidity(readFileSync(certFile(worker), 'utf8'));
    expect(end - from).toBe(2 * HOUR_MS);
  });

  test('a worker whose certificate expired says so and what to do, and can leave the swarm', async () => {
    await t.killAgent(worker);
    const identity = certIdentity(readFileSync(certFile(worker), 'utf8')) as CertIdentity;
    const caKey = readFileSync(join(manager.root, 'swarm', 'certificates', 'swarm-root-ca.key'), 'utf8');
    const { key, csr } = await newKeyAndCsr(identity);
    const expired = await signNodeCsr({ cert: ca.toString(), key: caKey }, csr, identity, HOUR_NS, { now: Date.now() - 2 * 86_400_000 });
    const ctx: SwarmContext = { root: worker.root, runRoot: worker.runRoot, store: openClusterStore(worker.root), engine: undefined as never };
    await writeCredentials(ctx, { ca: ca.toString(), key, cert: expired });
    const refused = await t.ctr(worker, ['node', 'ls']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/this node's swarm certificate expired at .*: the manager no longer accepts it, and it cannot be renewed/);
    expect(refused.stderr).toMatch(/join it again/);
    expect(t.agentPid(worker)).toBeUndefined();
    const left = await t.ctr(worker, ['swarm', 'leave']);
    expect(left.stdout).toBe('Node left the swarm.\n');
  });
});
