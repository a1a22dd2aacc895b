import { X509Certificate } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certIdentity, newKeyAndCsr, signNodeCsr } from '../src/certs';
import { requireManager } from '../src/cluster';
import type { SwarmContext } from '../src/context';
import { generateRootCa, type RootCa } from '../src/ids';
import { isWorker, localNode, WORKER_REFUSAL, type LocalNode } from '../src/membership';
import { openClusterStore } from '../src/store';

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
});
