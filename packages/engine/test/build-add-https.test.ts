/**
 * A Dockerfile's `ADD https://…` trusts the CAs ctr was given (CTR_EXTRA_CA_CERTS, where the
 * `ctr` launcher moves NODE_EXTRA_CA_CERTS), as pulls do: a real TLS server on 127.0.0.1 whose
 * certificate a throwaway CA signed, and a guard that refuses any other address.
 */
import { promises as fs } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { makeTlsCertificates, readTlsFiles } from '../../../test/support/tls-certs';
import { loopbackOnly, type LoopbackGuard } from '../../registry/test/support/loopback-only';
import { collector, testEngine, type TestEngine } from './fixture';

const CONTENT = 'fetched over TLS\n';

let t: TestEngine;
let work: string;
let context: string;
let guard: LoopbackGuard;
let server: https.Server;
let url: string;

beforeAll(async () => {
  guard = loopbackOnly();
  t = await testEngine();
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-build-add-https-'));
  await makeTlsCertificates(work);
  context = path.join(work, 'context');
  await fs.mkdir(context);
  const { cert, key } = await readTlsFiles(work, 'server');
  // A new connection per request: a pooled one would keep the trust of the test that made it.
  server = https.createServer({ cert, key }, (req, res) => res.writeHead(req.url === '/f' ? 200 : 404, { connection: 'close' }).end(req.url === '/f' ? CONTENT : ''));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/f`;
  await fs.writeFile(path.join(context, 'Dockerfile'), `FROM busybox\nADD ${url} /f\n`);
});

afterEach(() => {
  delete process.env.CTR_EXTRA_CA_CERTS;
});

afterAll(async () => {
  if (server) await new Promise((resolve) => server.close(resolve));
  await t?.cleanup();
  if (work) await fs.rm(work, { recursive: true, force: true });
  guard?.restore();
  expect(guard.refused).toEqual([]);
});

test('with CTR_EXTRA_CA_CERTS naming the CA, ADD https:// builds and the file is in the image', async () => {
  process.env.CTR_EXTRA_CA_CERTS = path.join(work, 'ca.pem');
  await t.engine.build({ context, tags: ['add-https:trusted'] });
  const stdout = collector();
  const run = await t.engine.run({ image: 'add-https:trusted', cmd: ['cat', '/f'], network: 'none', autoRemove: true, stdout });
  expect(run.exitCode).toBe(0);
  expect(stdout.text()).toBe(CONTENT);
});

test('without it, the build fails with an Unavailable error whose hint names the variable, and tags nothing', async () => {
  const before = await t.engine.images();
  await expect(t.engine.build({ context, tags: ['add-https:untrusted'] })).rejects.toMatchObject({
    code: 'Unavailable',
    message: `failed to fetch ${url}: unable to verify the first certificate`,
    hint: expect.stringMatching(/not signed by a CA this machine trusts: add that CA to the PEM file NODE_EXTRA_CA_CERTS names \(CTR_EXTRA_CA_CERTS /),
  });
  await expect(t.engine.inspectImage('add-https:untrusted')).rejects.toMatchObject({ code: 'NotFound' });
  expect(await t.engine.images()).toEqual(before);
});

test('CTR_EXTRA_CA_CERTS naming a missing file fails the build with an InvalidArgument naming the variable', async () => {
  const missing = path.join(work, 'no-such-ca.pem');
  process.env.CTR_EXTRA_CA_CERTS = missing;
  await expect(t.engine.build({ context, tags: ['add-https:missing-ca'] })).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: `failed to fetch ${url}: cannot load extra CA certificates from CTR_EXTRA_CA_CERTS=${missing}: no such file`,
  });
  await expect(t.engine.inspectImage('add-https:missing-ca')).rejects.toMatchObject({ code: 'NotFound' });
});
