import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { CtrError } from '@ctr/errors';
import { certValidity, newKeyAndCsr, signNodeCsr, writeCredentials, type ClusterCredentials } from '../src/certs';
import type { SwarmContext } from '../src/context';
import { generateRootCa, type RootCa } from '../src/ids';
import { openClusterStore } from '../src/store';
import { clusterClient, MAX_BODY_BYTES, serveCluster, splitAddr, type ClusterRequest, type ClusterServer } from '../src/transport';
import type { NodeRole } from '../src/types';

/**
 * The cluster protocol on 127.0.0.1: HTTPS and JSON over mutual TLS, every certificate the
 * swarm CA's, the caller known by its certificate.
 */
describe('the cluster transport', () => {
  const CLUSTER = 'clusterid0000000000000000';
  let dir: string;
  let ca: RootCa;
  let ctx: SwarmContext;
  let address: string;
  let server: ClusterServer;
  const stop = new AbortController();
  const seen: ClusterRequest[] = [];
  /** Node IDs the server takes for members. */
  const members = new Set(['workerone0000000000000000']);

  async function nodeCredentials(authority: RootCa, nodeId: string, role: NodeRole, clusterId = CLUSTER, signedAt?: number): Promise<ClusterCredentials> {
    const { key, csr } = await newKeyAndCsr();
    return { ca: authority.cert, key, cert: await signNodeCsr(authority, csr, { nodeId, role, clusterId }, 3_600_000_000_000, signedAt === undefined ? {} : { now: signedAt }) };
  }

  /** The certificate a server at `addr` shows a new connection. */
  function servedCertificate(addr: string): Promise<X509Certificate> {
    const [host, port] = addr.split(':') as [string, string];
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host, port: Number(port), ca: [ca.cert], checkServerIdentity: () => undefined }, () => {
        resolve(socket.getPeerX509Certificate() as X509Certificate);
        socket.end();
      });
      socket.once('error', reject);
    });
  }

  /**
   * POST /echo showing `credentials`, over `agent`'s connection (false: one of its own): the
   * status, the JSON answered, and whether a connection already open carried it.
   */
  function echoOver(agent: https.Agent | false, credentials: ClusterCredentials): Promise<{ status: number; body: unknown; reused: boolean }> {
    const { host, port } = splitAddr(address);
    return new Promise((resolve, reject) => {
      const req = https.request({ host, port, method: 'POST', path: '/echo', agent, ca: [ca.cert], cert: credentials.cert, key: credentials.key, checkServerIdentity: () => undefined });
      req.once('error', reject);
      req.once('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('error', reject);
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown, reused: req.reusedSocket }));
      });
      req.end();
    });
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-transport-'));
    ca = (await generateRootCa()) as RootCa;
    ctx = { root: dir, runRoot: dir, store: openClusterStore(dir), engine: undefined as never };
    await writeCredentials(ctx, await nodeCredentials(ca, 'managerid0000000000000000', 'manager'));
    server = await serveCluster(
      ctx,
      {
        'GET /ca': async () => ({ cert: ca.cert }),
        'POST /echo': async (request) => {
          seen.push(request);
          return { nodeId: request.nodeId, role: request.role, body: request.body, q: request.query.get('q') };
        },
        'POST /fail': async () => {
          throw new CtrError('Conflict', 'update out of sequence');
        },
        'GET /lines': async () =>
          (async function* () {
            yield { n: 1 };
            yield { n: 2 };
          })(),
      },
      stop.signal,
      { listen: '127.0.0.1:0', clusterId: CLUSTER, allowed: async (caller) => members.has(caller.nodeId) },
    );
    address = server.address;
  }, 30_000);

  afterAll(async () => {
    stop.abort();
    await rm(dir, { recursive: true, force: true });
  });

  test('a member calls with its certificate: the route sees its node ID and role, and answers JSON', async () => {
    const client = clusterClient(await nodeCredentials(ca, 'workerone0000000000000000', 'worker'), address, 'manager');
    const answer = await client.call('POST', '/echo?q=x', { hello: 'there' });
    expect(answer).toEqual({ nodeId: 'workerone0000000000000000', role: 'worker', body: { hello: 'there' }, q: 'x' });
  });

  test('a node of the swarm that is no member (removed) is refused 403', async () => {
    const client = clusterClient(await nodeCredentials(ca, 'removed00000000000000000a', 'worker'), address);
    await expect(client.call('POST', '/echo', {})).rejects.toMatchObject({ code: 'Denied', message: 'node removed00000000000000000a is not a member of the swarm', details: { status: 403 } });
  });

  test('a certificate of another cluster signed by the same CA is refused', async () => {
    const client = clusterClient(await nodeCredentials(ca, 'workerone0000000000000000', 'worker', 'othercluster0000000000000'), address);
    await expect(client.call('POST', '/echo', {})).rejects.toMatchObject({ code: 'Unauthorized', details: { status: 401 } });
  });

  test('without a certificate only GET /ca answers', async () => {
    const client = clusterClient({ ca: ca.cert }, address);
    expect(await client.call('GET', '/ca')).toEqual({ cert: ca.cert });
    await expect(client.call('POST', '/echo', {})).rejects.toMatchObject({ code: 'Unauthorized' });
  });

  test('a route\'s CtrError reaches the caller as the same CtrError', async () => {
    const client = clusterClient(await nodeCredentials(ca, 'workerone0000000000000000', 'worker'), address);
    const error = await client.call('POST', '/fail', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CtrError);
    expect(error).toMatchObject({ code: 'Conflict', message: 'update out of sequence', details: { status: 409 } });
  });

  test('a body over 4 MiB is refused 413', async () => {
    const client = clusterClient(await nodeCredentials(ca, 'workerone0000000000000000', 'worker'), address);
    const before = seen.length;
    await expect(client.call('POST', '/echo', { data: 'x'.repeat(MAX_BODY_BYTES) })).rejects.toMatchObject({ details: { status: 413 } });
    expect(seen.length).toBe(before);
  });

  test('a client pinned to another CA refuses the server before sending anything', async () => {
    const other = (await generateRootCa()) as RootCa;
    const client = clusterClient(await nodeCredentials(other, 'workerone0000000000000000', 'worker'), address);
    const before = seen.length;
    await expect(client.call('POST', '/echo', { token: 'secret' })).rejects.toMatchObject({ code: 'Unavailable' });
    expect(seen.length).toBe(before);
  });

  test('a client expecting a worker refuses a manager\'s certificate', async () => {
    const client = clusterClient(await nodeCredentials(ca, 'workerone0000000000000000', 'worker'), address, 'worker');
    await expect(client.call('POST', '/echo', {})).rejects.toMatchObject({ code: 'Unavailable' });
  });

  test('a route answering an async iterable streams newline-delimited JSON', async () => {
    const client = clusterClient(await nodeCredentials(ca, 'workerone0000000000000000', 'worker'), address);
    const items: unknown[] = [];
    for await (const item of client.stream('GET', '/lines')) items.push(item);
    expect(items).toEqual([{ n: 1 }, { n: 2 }]);
  });

  test('a caller whose certificate expired is refused 401, told when it expired and what to do', async () => {
    const hundredDaysAgo = Date.now() - 100 * 86_400_000;
    const client = clusterClient(await nodeCredentials(ca, 'workerone0000000000000000', 'worker', CLUSTER, hundredDaysAgo), address);
    await expect(client.call('POST', '/echo', {})).rejects.toMatchObject({
      code: 'Unauthorized',
      message: `the certificate of node workerone0000000000000000 expired at ${new Date(hundredDaysAgo + 3_600_000).toISOString().replace(/\.\d+Z$/, '.000Z')}`,
      hint: expect.stringContaining('join it again'),
      details: { status: 401 },
    });
  });

  test('a caller whose certificate expires on a kept-alive connection is refused on it as on a new one', async () => {
    // Signed an hour ago for an hour (after an hour of backdate): it expires in five seconds.
    const credentials = await nodeCredentials(ca, 'workerone0000000000000000', 'worker', CLUSTER, Date.now() - 3_600_000 + 5_000);
    const { until } = certValidity(credentials.cert);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await echoOver(agent, credentials)).toMatchObject({ status: 200, reused: false });
      // Kept busy until the certificate has expired: idle, the server would close the connection.
      while (Date.now() <= until) {
        await echoOver(agent, credentials);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const kept = await echoOver(agent, credentials);
      const fresh = await echoOver(false, credentials);
      expect(fresh).toMatchObject({ status: 401, reused: false, body: { code: 'Unauthorized', message: `the certificate of node workerone0000000000000000 expired at ${new Date(until).toISOString()}` } });
      expect(kept).toEqual({ status: 401, reused: true, body: fresh.body });
    } finally {
      agent.destroy();
    }
  }, 30_000);

  test('a client made from a root shows the certificate on disk when it calls, not when it was made', async () => {
    const root = join(dir, 'client-root');
    await mkdir(root);
    const node: SwarmContext = { root, runRoot: root, store: openClusterStore(root), engine: undefined as never };
    await writeCredentials(node, await nodeCredentials(ca, 'workerone0000000000000000', 'worker'));
    const client = clusterClient(node, address, 'manager');
    expect(await client.call('POST', '/echo', {})).toMatchObject({ nodeId: 'workerone0000000000000000' });
    members.add('workertwo0000000000000000');
    await writeCredentials(node, await nodeCredentials(ca, 'workertwo0000000000000000', 'worker'));
    expect(await client.call('POST', '/echo', {})).toMatchObject({ nodeId: 'workertwo0000000000000000' });
  });

  test('a server told to reload its credentials shows new connections the renewed certificate', async () => {
    const before = await servedCertificate(address);
    const renewed = await nodeCredentials(ca, 'managerid0000000000000000', 'manager');
    await writeCredentials(ctx, renewed);
    server.reloadCredentials();
    const after = await servedCertificate(address);
    expect(after.fingerprint256).toBe(new X509Certificate(renewed.cert).fingerprint256);
    expect(after.fingerprint256).not.toBe(before.fingerprint256);
  });
});
