import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  certIdentity,
  certificatesDir,
  certMatchesKey,
  certValidity,
  checkNodeCertExpiry,
  newKeyAndCsr,
  readCredentials,
  signNodeCsr,
  writeCredentials,
  type CertIdentity,
  type ClusterCredentials,
} from '../src/certs';
import { defaultSwarmSpec, requireManager } from '../src/cluster';
import type { SwarmContext } from '../src/context';
import { generateRootCa, type RootCa } from '../src/ids';
import { isWorker, localNode, membershipRoutes, WORKER_REFUSAL, type LocalNode } from '../src/membership';
import { openClusterStore } from '../src/store';
import { clusterClient, serveCluster } from '../src/transport';

/** A node's identity (its certificate, node.json) and what a root says of its place in a swarm. */
describe('swarm membership', () => {
  let dir: string;
  let ca: RootCa;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-membership-'));
    ca = (await generateRootCa()) as RootCa;
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  async function root(name: string): Promise<SwarmContext> {
    const r = join(dir, name);
    await mkdir(r, { recursive: true });
    return { root: r, runRoot: r, store: openClusterStore(r), engine: undefined as never };
  }

  test('the CA signs a node certificate naming the node (CN), its role (OU) and the cluster (O), whatever the CSR asked', async () => {
    const { csr } = await newKeyAndCsr();
    const cert = await signNodeCsr(ca, csr, { nodeId: 'abc123', role: 'worker', clusterId: 'cluster9' }, 7_776_000_000_000_000);
    expect(certIdentity(cert)).toEqual({ nodeId: 'abc123', role: 'worker', clusterId: 'cluster9' });
    const x509 = new X509Certificate(cert);
    expect(x509.checkIssued(new X509Certificate(ca.cert))).toBe(true);
    expect(x509.subjectAltName).toBe('DNS:swarm-worker, DNS:abc123');
    // CAConfig.NodeCertExpiry: 90 days.
    const days = (Date.parse(x509.validTo) - Date.parse(x509.validFrom)) / 86_400_000;
    expect(Math.round(days)).toBe(90);
  });

  test('a manager certificate says swarm-manager', async () => {
    const { csr } = await newKeyAndCsr();
    const cert = await signNodeCsr(ca, csr, { nodeId: 'm1', role: 'manager', clusterId: 'c1' }, 3_600_000_000_000);
    expect(certIdentity(cert)?.role).toBe('manager');
  });

  test('a certificate is valid from an hour before it is signed (swarmkit\'s backdate) until NodeCertExpiry after', async () => {
    const { csr } = await newKeyAndCsr();
    const now = Date.parse('2030-01-01T12:00:00Z');
    const cert = await signNodeCsr(ca, csr, { nodeId: 'abc123', role: 'worker', clusterId: 'cluster9' }, 3_600_000_000_000, { now });
    expect(certValidity(cert)).toEqual({ from: now - 3_600_000, until: now + 3_600_000 });
  });

  test('an expiry under an hour is refused in swarmkit\'s words', () => {
    expect(() => checkNodeCertExpiry(1_800_000_000_000)).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: 'rpc error: code = InvalidArgument desc = minimum certificate expiry time is: 1h0m0s' }));
    expect(() => checkNodeCertExpiry(3_600_000_000_000)).not.toThrow();
  });

  test('what is not a CSR is refused', async () => {
    await expect(signNodeCsr(ca, 'hello', { nodeId: 'a', role: 'worker', clusterId: 'c' }, 1e12)).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  test('a root a session-38 init made (no node.json) is its one node\'s manager, and node.json is written', async () => {
    const ctx = await root('s38');
    await ctx.store.transaction((tx) => {
      tx.create('cluster', { ID: 'clusterold', Spec: {} as never, TLSInfo: { TrustRoot: '', CertIssuerSubject: '', CertIssuerPublicKey: '' }, RootRotationInProgress: false, DefaultAddrPool: [], SubnetSize: 24, DataPathPort: 4789, JoinTokens: { Worker: '', Manager: '' } });
      tx.create('nodes', {
        ID: 'nodeold',
        Spec: { Labels: {}, Role: 'manager', Availability: 'active' },
        Description: {} as never,
        Status: { State: 'ready', Addr: '10.1.2.3' },
        ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '10.1.2.3:2377' },
      });
    });
    const expected: LocalNode = { NodeID: 'nodeold', Role: 'manager', ClusterID: 'clusterold', ManagerAddrs: ['10.1.2.3:2377'], ListenAddr: '10.1.2.3:2377', AdvertiseAddr: '10.1.2.3:2377', DataPathAddr: '10.1.2.3' };
    expect(await localNode(ctx)).toEqual(expected);
    const file = join(ctx.root, 'swarm', 'node.json');
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(expected);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(isWorker(ctx)).toBe(false);
  });

  test('a root outside any swarm has no local node', async () => {
    const ctx = await root('none');
    expect(await localNode(ctx)).toBeUndefined();
    expect(isWorker(ctx)).toBe(false);
  });

  test('a worker (node.json, no cluster store) refuses manager verbs with dockerd\'s 503 words', async () => {
    const ctx = await root('worker');
    await mkdir(join(ctx.root, 'swarm'), { recursive: true });
    writeFileSync(join(ctx.root, 'swarm', 'node.json'), JSON.stringify({ NodeID: 'w', Role: 'worker', ClusterID: 'c', ManagerAddrs: ['10.0.0.1:2377'], ListenAddr: '0.0.0.0:2377', AdvertiseAddr: '10.0.0.2:2377', DataPathAddr: '10.0.0.2' }));
    expect(isWorker(ctx)).toBe(true);
    expect(ctx.store.active()).toBe(false);
    await expect(requireManager(ctx)).rejects.toMatchObject({ code: 'Unavailable', message: WORKER_REFUSAL });
  });

  describe('a node\'s key and certificate on disk', () => {
    async function pair(nodeId: string): Promise<ClusterCredentials> {
      const identity: CertIdentity = { nodeId, role: 'worker', clusterId: 'cluster9' };
      const { key, csr } = await newKeyAndCsr(identity);
      return { ca: ca.cert, key, cert: await signNodeCsr(ca, csr, identity, 3_600_000_000_000) };
    }

    test('are replaced together: nothing is left aside, every file 0600', async () => {
      const ctx = await root('replaced');
      await writeCredentials(ctx, await pair('old1'));
      const renewed = await pair('new1');
      await writeCredentials(ctx, renewed);
      expect(readCredentials(ctx)).toEqual(renewed);
      const dir = certificatesDir(ctx);
      expect(readdirSync(dir).sort()).toEqual(['swarm-node.crt', 'swarm-node.key', 'swarm-root-ca.crt']);
      for (const file of readdirSync(dir)) expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600);
    });

    test('a renewal interrupted after its key was written is finished by the next read', async () => {
      const ctx = await root('after-key');
      await writeCredentials(ctx, await pair('old2'));
      const renewed = await pair('new2');
      // writeCredentials' first two steps: the certificate aside, then the key in place.
      const dir = certificatesDir(ctx);
      writeFileSync(join(dir, '.swarm-node.crt'), renewed.cert);
      writeFileSync(join(dir, 'swarm-node.key'), renewed.key);
      expect(readCredentials(ctx)).toEqual(renewed);
      expect(await readFile(join(dir, 'swarm-node.crt'), 'utf8')).toBe(renewed.cert);
      expect(existsSync(join(dir, '.swarm-node.crt'))).toBe(false);
    });

    test('a renewal interrupted before its key was written leaves the old pair in use', async () => {
      const ctx = await root('before-key');
      const old = await pair('old3');
      await writeCredentials(ctx, old);
      writeFileSync(join(certificatesDir(ctx), '.swarm-node.crt'), (await pair('new3')).cert);
      expect(readCredentials(ctx)).toEqual(old);
    });
  });

  describe('the manager renews a member\'s certificate (POST /renew)', () => {
    const CLUSTER = 'renewcluster0000000000000';
    const WORKER = 'renewworker00000000000000';
    const OTHER = 'renewother000000000000000';
    const stop = new AbortController();
    let address: string;
    let workerCredentials: ClusterCredentials;

    beforeAll(async () => {
      const ctx = await root('renew-manager');
      const spec = defaultSwarmSpec();
      spec.CAConfig.NodeCertExpiry = 7_200_000_000_000;
      await ctx.store.transaction((tx) => {
        tx.create('cluster', { ID: CLUSTER, Spec: spec, TLSInfo: { TrustRoot: ca.cert, CertIssuerSubject: '', CertIssuerPublicKey: '' }, RootRotationInProgress: false, DefaultAddrPool: [], SubnetSize: 24, DataPathPort: 4789, JoinTokens: { Worker: '', Manager: '' } });
        for (const id of [WORKER, OTHER]) {
          tx.create('nodes', { ID: id, Spec: { Labels: {}, Role: 'worker', Availability: 'active' }, Description: {} as never, Status: { State: 'ready', Addr: '127.0.0.1' } });
        }
      });
      const managerIdentity: CertIdentity = { nodeId: 'renewmanager0000000000000', role: 'manager', clusterId: CLUSTER };
      const manager = await newKeyAndCsr(managerIdentity);
      await writeCredentials(ctx, { ca: ca.cert, caKey: ca.key, key: manager.key, cert: await signNodeCsr(ca, manager.csr, managerIdentity, 3_600_000_000_000) });
      const worker = await newKeyAndCsr();
      workerCredentials = { ca: ca.cert, key: worker.key, cert: await signNodeCsr(ca, worker.csr, { nodeId: WORKER, role: 'worker', clusterId: CLUSTER }, 3_600_000_000_000) };
      const server = await serveCluster(ctx, membershipRoutes(ctx, new Map()), stop.signal, {
        listen: '127.0.0.1:0',
        clusterId: CLUSTER,
        allowed: async (caller) => (await ctx.store.get('nodes', caller.nodeId)) !== undefined,
      });
      address = server.address;
    }, 30_000);

    afterAll(() => stop.abort());

    test('it signs the caller\'s new key with the node\'s role and the cluster\'s current NodeCertExpiry', async () => {
      const { key, csr } = await newKeyAndCsr({ nodeId: WORKER, role: 'worker', clusterId: CLUSTER });
      const { cert } = await clusterClient(workerCredentials, address, 'manager').call<{ cert: string }>('POST', '/renew', { csr });
      expect(certIdentity(cert)).toEqual({ nodeId: WORKER, role: 'worker', clusterId: CLUSTER });
      expect(certMatchesKey(cert, key)).toBe(true);
      expect(new X509Certificate(cert).checkIssued(new X509Certificate(ca.cert))).toBe(true);
      const { from, until } = certValidity(cert);
      // Two hours, and the hour it is backdated by.
      expect(until - from).toBe(3 * 3_600_000);
    });

    test('a CSR naming another node is refused 403', async () => {
      const { csr } = await newKeyAndCsr({ nodeId: OTHER, role: 'worker', clusterId: CLUSTER });
      await expect(clusterClient(workerCredentials, address, 'manager').call('POST', '/renew', { csr })).rejects.toMatchObject({
        code: 'Denied',
        message: `node ${WORKER} may renew its own certificate only: the certificate signing request names node ${OTHER}`,
        details: { status: 403 },
      });
    });
  });
});
