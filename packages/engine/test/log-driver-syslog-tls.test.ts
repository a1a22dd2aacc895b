/**
 * `--log-driver syslog` over TLS (`tcp+tls://`), as moby's driver dials it through srslog with
 * go-connections' tlsconfig: real containers' lines reach a Node TLS server on 127.0.0.1 whose
 * certificate a throwaway CA (made with openssl here) signed; the checks fail the start.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import type { CreateContainerOptions } from '@ctr/engine';
import { collector, testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let dir: string;
beforeAll(async () => {
  t = await testEngine();
  dir = mkdtempSync(join(tmpdir(), 'ctr-syslog-tls-'));
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const ca of ['ca', 'other-ca']) openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '1', '-subj', `/CN=${ca}`);
  for (const [name, ext] of [['server', 'server.ext'], ['client', 'client.ext']] as const) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', ext);
  }
}, 60_000);
afterAll(async () => {
  await t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const file = (name: string): string => join(dir, name);

/** A TLS server on 127.0.0.1 with the CA-signed certificate; `clientCa`: it asks for a client certificate that CA signed. */
async function tlsServer(clientCa?: string): Promise<{ port: number; text: () => string; until: (check: (text: string) => boolean) => Promise<void>; close: () => Promise<void> }> {
  const chunks: Buffer[] = [];
  const waiting: Array<() => void> = [];
  const sockets = new Set<net.Socket>();
  const options: tls.TlsOptions = { key: readFileSync(file('server.key')), cert: readFileSync(file('server.pem')) };
  if (clientCa) Object.assign(options, { ca: readFileSync(clientCa), requestCert: true, rejectUnauthorized: true });
  const server = tls.createServer(options, (socket) => {
    sockets.add(socket);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      for (const check of waiting.splice(0)) check();
    });
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const text = (): string => Buffer.concat(chunks).toString();
  return {
    port: (server.address() as net.AddressInfo).port,
    text,
    until: (check) =>
      new Promise((resolve) => {
        const test = (): void => (check(text()) ? resolve() : void waiting.push(test));
        test();
      }),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function run(cmd: string[], options: Record<string, string>, more: Partial<CreateContainerOptions> = {}): Promise<string> {
  const { id } = await t.engine.run({ image: 'busybox', cmd, network: 'none', pull: 'never', stdout: collector(), stderr: collector(), log: { driver: 'syslog', options }, ...more });
  return id;
}

test("in rfc5424 each message is framed with its length (RFC 5425's octet counting), the server checked against syslog-tls-ca-cert", async () => {
  const server = await tlsServer();
  try {
    const id = await run(['sh', '-c', 'echo one; echo two'], { 'syslog-address': `tcp+tls://127.0.0.1:${server.port}`, 'syslog-tls-ca-cert': file('ca.pem'), 'syslog-format': 'rfc5424' });
    await server.until((text) => text.includes('two\n'));
    const frames = [...server.text().matchAll(/(\d+) (<30>1 [^\n]*\n)/g)];
    expect(frames.map(([, length, message]) => Number(length) === Buffer.byteLength(message as string))).toEqual([true, true]);
    expect(frames.map(([, , message]) => message)).toEqual([expect.stringMatching(new RegExp(`^<30>1 \\S+ \\S+ ${id.slice(0, 12)} \\d+ ${id.slice(0, 12)} - one\\n$`)), expect.stringMatching(/ - two\n$/)]);
  } finally {
    await server.close();
  }
});

test("srslog's Unix format goes unframed over TLS, as over TCP", async () => {
  const server = await tlsServer();
  try {
    const id = await run(['echo', 'plain'], { 'syslog-address': `tcp+tls://127.0.0.1:${server.port}`, 'syslog-tls-ca-cert': file('ca.pem') });
    await server.until((text) => text.endsWith('\n'));
    expect(server.text()).toMatch(new RegExp(`^<30>[A-Z][a-z]{2} [ 123]\\d \\d{2}:\\d{2}:\\d{2} ${id.slice(0, 12)}\\[\\d+\\]: plain\\n$`));
  } finally {
    await server.close();
  }
});

test('a client certificate (syslog-tls-cert, syslog-tls-key) is presented to a server that asks for one', async () => {
  const server = await tlsServer(file('ca.pem'));
  try {
    await run(['echo', 'mutual'], { 'syslog-address': `tcp+tls://127.0.0.1:${server.port}`, 'syslog-tls-ca-cert': file('ca.pem'), 'syslog-tls-cert': file('client.pem'), 'syslog-tls-key': file('client.key') });
    await server.until((text) => text.includes('mutual\n'));
  } finally {
    await server.close();
  }
});

test('in mode=non-blocking the lines go out over TLS from the queue', async () => {
  const server = await tlsServer();
  try {
    await run(['sh', '-c', 'for i in 1 2 3; do echo queued $i; done'], { 'syslog-address': `tcp+tls://127.0.0.1:${server.port}`, 'syslog-tls-ca-cert': file('ca.pem'), mode: 'non-blocking' });
    await server.until((text) => text.includes('queued 3\n'));
    expect(server.text().match(/queued \d/g)).toEqual(['queued 1', 'queued 2', 'queued 3']);
  } finally {
    await server.close();
  }
});

test('a server whose certificate no trusted CA signed fails the start', async () => {
  const server = await tlsServer();
  try {
    await expect(run(['echo', 'never'], { 'syslog-address': `tcp+tls://127.0.0.1:${server.port}`, 'syslog-tls-ca-cert': file('other-ca.pem') })).rejects.toMatchObject({
      message: expect.stringMatching(/^failed to initialize logging driver: tls: .*certificate verify failed/),
    });
  } finally {
    await server.close();
  }
});

test('syslog-tls-skip-verify connects without checking the certificate', async () => {
  const server = await tlsServer();
  try {
    await run(['echo', 'unchecked'], { 'syslog-address': `tcp+tls://127.0.0.1:${server.port}`, 'syslog-tls-skip-verify': 'true' });
    await server.until((text) => text.includes('unchecked\n'));
  } finally {
    await server.close();
  }
});

test("a CA certificate that cannot be read fails the start in go-connections' words", async () => {
  const missing = file('missing.pem');
  await expect(run(['echo', 'never'], { 'syslog-address': 'tcp+tls://127.0.0.1:6514', 'syslog-tls-ca-cert': missing })).rejects.toMatchObject({
    message: `failed to initialize logging driver: could not read CA certificate "${missing}": open ${missing}: no such file or directory`,
  });
});
