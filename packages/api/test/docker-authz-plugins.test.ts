/**
 * Docker's authorization plugins in ctrd (`--authorization-plugin`, moby's pkg/authorization):
 * the real docker CLI against an API server whose every request and response go through a
 * plugin — a legacy one in the daemon's plugin directory, and a managed one run under runc.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, promises as fs } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer, daemonMain } from '@ctr/api';
import { startVolumePlugin } from '../../engine/test/support/volume-plugin';
import { killPlugins, writePluginDir } from '../../engine/test/support/managed-plugin';
import { makeTlsCertificates, readTlsFiles } from '../../../test/support/tls-certs';
import { docker, json, request, useTestDaemon } from './fixture';

// The plugin's program is plain JS: a managed plugin runs the same file with the host's node.
const { authzServer } = require('./authz-plugin-server.js') as {
  authzServer(decide: (phase: Phase, request: AuthzRequest) => Verdict, seen: (phase: Phase, request: AuthzRequest) => void): http.Server;
};

jest.setTimeout(120_000);

type Phase = 'request' | 'response';
interface Verdict {
  Allow: boolean;
  Msg?: string;
  Err?: string;
}
/** What a plugin is sent, as moby's authorization.Request marshals it. */
interface AuthzRequest {
  User?: string;
  UserAuthNMethod?: string;
  RequestMethod: string;
  RequestUri: string;
  RequestBody?: string;
  RequestHeaders?: Record<string, string>;
  RequestPeerCertificates?: string[];
  ResponseStatusCode?: number;
  ResponseBody?: string;
  ResponseHeaders?: Record<string, string>;
}

const ALLOW: Verdict = { Allow: true };

/** The daemon's legacy plugin directory, and what the tests make (sockets, certificates, roots). */
const pluginDir = mkdtempSync(join(tmpdir(), 'ctr-authz-plugins-'));
const work = { dir: mkdtempSync(join(tmpdir(), 'ctr-authz-')) };
const t = useTestDaemon({ plugins: { legacy: { sockets: [pluginDir], specs: [pluginDir] }, activateTimeoutMs: 0 } });
let policy: (phase: Phase, request: AuthzRequest) => Verdict = () => ALLOW;
let seen: { phase: Phase; request: AuthzRequest }[] = [];
let plugin: http.Server;
let server: ApiServer;
/** The daemon's 500s on the server with the plugin: a test that expects none checks it is empty. */
let internalErrors: string[] = [];
let env: NodeJS.ProcessEnv;

function listen(target: http.Server, socket: string): Promise<void> {
  return new Promise((resolve, reject) => {
    target.once('error', reject);
    target.listen(socket, () => resolve());
  });
}

function close(target: http.Server | undefined): Promise<void> {
  return new Promise((resolve) => (target?.listening ? target.close(() => resolve()) : resolve()));
}

function decoded(base64: string | undefined): unknown {
  return base64 === undefined ? undefined : JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
}

function callsFor(phase: Phase, method: string, path: RegExp): AuthzRequest[] {
  return seen.filter((s) => s.phase === phase && s.request.RequestMethod === method && path.test(s.request.RequestUri)).map((s) => s.request);
}

beforeAll(async () => {
  plugin = authzServer(
    (phase, r) => policy(phase, r),
    (phase, r) => seen.push({ phase, request: r }),
  );
  await listen(plugin, join(pluginDir, 'policy.sock'));
  server = await ApiServer.listen({
    engine: t.daemon.engine,
    hosts: [`unix://${join(work.dir, 'authz.sock')}`],
    authorizationPlugins: ['policy'],
    onInternalError: (error, what) => internalErrors.push(`${what}: ${(error as Error).message}`),
  });
  env = { ...t.env, DOCKER_HOST: `unix://${join(work.dir, 'authz.sock')}` };
});

afterEach(() => {
  policy = () => ALLOW;
  seen = [];
  internalErrors = [];
});

afterAll(async () => {
  await server?.close();
  await close(plugin);
  if (t.runRoot) killPlugins(t.runRoot);
  await fs.rm(pluginDir, { recursive: true, force: true });
  await rm(work.dir, { recursive: true, force: true });
});

test('an allowed docker run goes through the plugin with its request and its response', async () => {
  expect(await docker(env, ['run', '--rm', '--network', 'none', 'busybox', 'echo', 'allowed'])).toMatchObject({ code: 0, stdout: 'allowed\n' });

  const [create] = callsFor('request', 'POST', /^\/v1\.\d+\/containers\/create/);
  expect(create?.RequestHeaders).toMatchObject({ 'Content-Type': 'application/json', 'User-Agent': expect.stringMatching(/^Docker-Client\//) });
  expect(decoded(create?.RequestBody)).toMatchObject({ Image: 'busybox', Cmd: ['echo', 'allowed'] });
  expect(create?.User).toBeUndefined();
  const [created] = callsFor('response', 'POST', /^\/v1\.\d+\/containers\/create/);
  expect(created).toMatchObject({ ResponseStatusCode: 201, ResponseHeaders: { 'Content-Type': 'application/json' } });
  expect(decoded(created?.ResponseBody)).toMatchObject({ Id: expect.stringMatching(/^[0-9a-f]{64}$/) });
  expect(internalErrors).toEqual([]);
});

test('docker info lists the authorization plugins', async () => {
  expect(await docker(env, ['info', '--format', '{{json .Plugins.Authorization}}'])).toMatchObject({ code: 0, stdout: '["policy"]\n' });
  expect(await docker(t.env, ['info', '--format', '{{json .Plugins.Authorization}}'])).toMatchObject({ code: 0, stdout: 'null\n' });
});

test("a request the plugin refuses is answered 403 in dockerd's words and never reaches the daemon", async () => {
  policy = (phase, r) => (phase === 'request' && r.RequestUri.includes('/containers/create') ? { Allow: false, Msg: 'no containers here' } : ALLOW);

  const run = await docker(env, ['create', '--name', 'refused', '--network', 'none', 'busybox', 'true']);
  expect(run).toMatchObject({ code: 1, stderr: 'Error response from daemon: authorization denied by plugin policy: no containers here\n' });
  expect((await docker(t.env, ['ps', '-a', '--filter', 'name=refused', '-q'])).stdout).toBe('');
  expect(callsFor('response', 'POST', /\/containers\/create/)).toEqual([]);
});

test("an Err in the plugin's 200 answer is not read, as moby's authorization reads Allow and Msg alone", async () => {
  policy = (phase, r) => (phase === 'request' && r.RequestUri.includes('/containers/json') ? { Allow: true, Err: 'ignored' } : ALLOW);
  expect(await docker(env, ['ps', '-q'])).toMatchObject({ code: 0 });

  policy = (phase, r) => (phase === 'request' && r.RequestUri.includes('/containers/json') ? { Allow: false, Msg: 'not today', Err: 'ignored' } : ALLOW);
  expect(await docker(env, ['ps', '-q'])).toMatchObject({ code: 1, stderr: 'Error response from daemon: authorization denied by plugin policy: not today\n' });
  expect(internalErrors).toEqual([]);
});

test('a response the plugin refuses is not sent: the client gets the refusal instead', async () => {
  policy = (phase, r) => (phase === 'response' && r.RequestUri.includes('/containers/json') ? { Allow: false, Msg: 'not for your eyes' } : ALLOW);

  const ps = await request(join(work.dir, 'authz.sock'), 'GET', '/v1.47/containers/json?all=1');
  expect(ps.status).toBe(403);
  expect(json(ps)).toEqual({ message: 'authorization denied by plugin policy: not for your eyes' });
  const [shown] = callsFor('response', 'GET', /\/containers\/json/);
  expect(shown?.ResponseStatusCode).toBe(200);
  expect(Array.isArray(decoded(shown?.ResponseBody))).toBe(true);
  expect(await docker(env, ['ps'])).toMatchObject({ code: 1, stderr: expect.stringContaining('Error response from daemon: authorization denied by plugin policy: not for your eyes') });
});

test('the registry credentials of a request are never shown to the plugin', async () => {
  await request(join(work.dir, 'authz.sock'), 'GET', '/v1.47/version', undefined, { 'X-Registry-Auth': 'c2VjcmV0', Authorization: 'Bearer secret' });
  const [version] = callsFor('request', 'GET', /\/version$/);
  expect(Object.keys(version?.RequestHeaders ?? {})).not.toEqual(expect.arrayContaining(['X-Registry-Auth']));
  expect(Object.keys(version?.RequestHeaders ?? {})).not.toEqual(expect.arrayContaining(['Authorization']));
});

test('a JSON request body larger than moby shows a plugin is refused', async () => {
  const big = JSON.stringify({ Image: 'busybox', Labels: { padding: 'x'.repeat(1024 * 1024) } });
  const response = await request(join(work.dir, 'authz.sock'), 'POST', '/v1.47/containers/create', big);
  expect(response.status).toBe(500);
  expect(json(response)).toEqual({ message: 'request body too large for authorization plugin: size exceeds 1048576 bytes' });
  expect(callsFor('request', 'POST', /\/containers\/create/)).toEqual([]);
  internalErrors = [];
});

test('docker run -i streams stdin and stdout over the hijacked connection under the plugin', async () => {
  expect(await docker(env, ['run', '--rm', '-i', '--network', 'none', 'busybox', 'cat'], { input: 'through the chain\n' })).toMatchObject({ code: 0, stdout: 'through the chain\n' });
  // Told of the attach's end, with nothing of what went over the connection.
  const [attached] = callsFor('response', 'POST', /\/containers\/[0-9a-f]+\/attach/);
  expect(attached).toMatchObject({ RequestMethod: 'POST', ResponseHeaders: {} });
  expect(attached?.ResponseStatusCode).toBeUndefined();
});

test("docker exec's hijacked start shows the plugin its JSON body and still runs", async () => {
  const started = await docker(env, ['run', '-d', '--network', 'none', 'busybox', 'sleep', '600']);
  expect(started.code).toBe(0);
  const id = started.stdout.trim();
  try {
    expect(await docker(env, ['exec', id, 'echo', 'exec through the chain'])).toMatchObject({ code: 0, stdout: 'exec through the chain\n' });
    const [start] = callsFor('request', 'POST', /^\/v1\.\d+\/exec\/[0-9a-f]+\/start$/);
    expect(start?.RequestHeaders).toMatchObject({ Upgrade: 'tcp', Connection: 'Upgrade' });
    expect(decoded(start?.RequestBody)).toMatchObject({ Detach: false, Tty: false });
  } finally {
    await docker(env, ['rm', '-f', id]);
  }
});

test('followed logs stream through the plugin as they are written, not when they end', async () => {
  const started = await docker(env, ['run', '-d', '--network', 'none', 'busybox', 'sh', '-c', 'echo first; exec sleep 600']);
  expect(started.code).toBe(0);
  const id = started.stdout.trim();
  try {
    const firstLine = await new Promise<string>((resolve, reject) => {
      const req = http.get({ socketPath: join(work.dir, 'authz.sock'), path: `/v1.47/containers/${id}/logs?follow=1&stdout=1` }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString('latin1');
          if (text.includes('first')) {
            req.destroy();
            resolve(text);
          }
        });
      });
      req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
    });
    expect(firstLine).toContain('first\n');
  } finally {
    await docker(env, ['rm', '-f', id]);
  }
  expect(await docker(env, ['logs', '-f', id])).toMatchObject({ code: 1, stderr: expect.stringContaining('No such container') });
});

test('a plugin that cannot be reached fails every request with a 500 naming it', async () => {
  const flaky = authzServer(() => ALLOW, () => undefined);
  await listen(flaky, join(pluginDir, 'flaky.sock'));
  const errors: string[] = [];
  const second = await ApiServer.listen({
    engine: t.daemon.engine,
    hosts: [`unix://${join(work.dir, 'flaky.sock')}`],
    authorizationPlugins: ['flaky'],
    onInternalError: (error) => errors.push((error as Error).message),
  });
  try {
    await close(flaky);
    const response = await request(join(work.dir, 'flaky.sock'), 'GET', '/v1.47/containers/json');
    expect(response.status).toBe(500);
    expect((json(response) as { message: string }).message).toMatch(
      /^plugin flaky failed with error: Post "http:\/\/%2F.*flaky\.sock\/AuthZPlugin\.AuthZReq": dial unix \/.*\/flaky\.sock: connect: /,
    );
    expect(errors).toHaveLength(1);
  } finally {
    await second.close();
  }
});

test("the TLS client certificate's common name is the user the plugin is told of", async () => {
  const certs = join(work.dir, 'certs');
  await fs.mkdir(certs);
  await makeTlsCertificates(certs);
  const tlsServer = await ApiServer.listen({ engine: t.daemon.engine, hosts: ['tcp://127.0.0.1:0'], tls: await readTlsFiles(certs, 'server'), authorizationPlugins: ['policy'] });
  try {
    const host = tlsServer.addresses[0]?.host as string;
    const run = await docker({ ...t.env, DOCKER_HOST: host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs }, ['version', '--format', '{{.Server.APIVersion}}']);
    expect(run).toMatchObject({ code: 0, stdout: '1.47\n' });
    const [version] = callsFor('request', 'GET', /\/version$/);
    expect(version).toMatchObject({ User: 'client', UserAuthNMethod: 'TLS' });
    expect(Buffer.from(version?.RequestPeerCertificates?.[0] ?? '', 'base64').toString('utf8')).toBe(await readFile(join(certs, 'client-cert.pem'), 'utf8'));
  } finally {
    await tlsServer.close();
  }
});

/** `ctr daemon` in a process of its own on a fresh root, with the test's plugin directory. */
async function ctrDaemon(config: object, flags: string[]): Promise<{ env: NodeJS.ProcessEnv; configFile: string; reload(): Promise<void>; stop(): Promise<void> }> {
  const root = await mkdtemp(join(work.dir, 'cli-'));
  const configFile = join(root, 'daemon.json');
  const socket = join(root, 'ctr.sock');
  await writeFile(configFile, JSON.stringify(config));
  const ctr = join(__dirname, '..', '..', 'cli', 'bin', 'ctr.js');
  const child = spawn(process.execPath, [ctr, '--root', join(root, 'data'), '--runroot', join(root, 'run'), 'daemon', '--config-file', configFile, '-H', `unix://${socket}`, ...flags], {
    env: { ...process.env, CTR_PLUGINS_DIR: pluginDir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const logged = async (text: string): Promise<void> => {
    while (!output.includes(text)) {
      if (child.exitCode !== null) throw new Error(`ctr daemon exited: ${output}`);
      await new Promise((resolve) => child.stderr?.once('data', resolve));
    }
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  };
  try {
    await logged('API listening');
  } catch (error) {
    await stop();
    throw error;
  }
  const reload = async (): Promise<void> => {
    child.kill('SIGHUP');
    await logged('Reloaded configuration');
  };
  return { env: { ...t.env, DOCKER_HOST: `unix://${socket}` }, configFile, reload, stop };
}

const DENY_ME = (phase: Phase, r: AuthzRequest): Verdict => (phase === 'request' && r.RequestUri.includes('deny-me') ? { Allow: false, Msg: 'deny-me is not allowed' } : ALLOW);

test('ctr daemon --authorization-plugin guards the API it serves', async () => {
  policy = DENY_ME;
  const daemon = await ctrDaemon({}, ['--authorization-plugin', 'policy']);
  try {
    expect(await docker(daemon.env, ['inspect', 'deny-me'])).toMatchObject({ code: 1, stderr: 'Error response from daemon: authorization denied by plugin policy: deny-me is not allowed\n' });
    expect(await docker(daemon.env, ['info', '--format', '{{json .Plugins.Authorization}}'])).toMatchObject({ code: 0, stdout: '["policy"]\n' });
  } finally {
    await daemon.stop();
  }
});

test("a SIGHUP reload of daemon.json's authorization-plugins changes the chain", async () => {
  policy = DENY_ME;
  const daemon = await ctrDaemon({ 'authorization-plugins': ['policy'] }, []);
  try {
    expect(await docker(daemon.env, ['inspect', 'deny-me'])).toMatchObject({ code: 1, stderr: 'Error response from daemon: authorization denied by plugin policy: deny-me is not allowed\n' });
    await writeFile(daemon.configFile, JSON.stringify({ 'authorization-plugins': [] }));
    await daemon.reload();
    expect(await docker(daemon.env, ['inspect', 'deny-me'])).toMatchObject({ code: 1, stderr: 'Error: No such object: deny-me\n' });
  } finally {
    await daemon.stop();
  }
});

test("a reload's authorization plugins are checked at once and in force only once applied", async () => {
  policy = DENY_ME;
  const apply = await server.prepareAuthorizationPlugins([]);
  // Until applied — a reload whose engine part fails never applies it — the chain is as it was.
  expect(await docker(env, ['inspect', 'deny-me'])).toMatchObject({ code: 1, stderr: 'Error response from daemon: authorization denied by plugin policy: deny-me is not allowed\n' });
  apply();
  try {
    expect(await docker(env, ['inspect', 'deny-me'])).toMatchObject({ code: 1, stderr: 'Error: No such object: deny-me\n' });
  } finally {
    (await server.prepareAuthorizationPlugins(['policy']))();
  }
});

test('a reload naming a missing authorization plugin is refused and leaves the chain as it was', async () => {
  policy = DENY_ME;
  await expect(server.prepareAuthorizationPlugins(['no-such-plugin'])).rejects.toMatchObject({ code: expect.any(String) });
  expect(await docker(env, ['inspect', 'deny-me'])).toMatchObject({ code: 1, stderr: 'Error response from daemon: authorization denied by plugin policy: deny-me is not allowed\n' });
});

describe('ctrd refuses to start', () => {
  async function ctrd(args: string[]): Promise<{ code: number; stderr: string }> {
    const root = await mkdtemp(join(work.dir, 'root-'));
    let stderr = '';
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    const before = process.env.CTR_PLUGINS_DIR;
    process.env.CTR_PLUGINS_DIR = pluginDir;
    try {
      const code = await daemonMain(['--data-root', join(root, 'data'), '--exec-root', join(root, 'run'), '-H', `unix://${join(root, 'ctr.sock')}`, ...args]);
      return { code, stderr };
    } finally {
      spy.mockRestore();
      if (before === undefined) delete process.env.CTR_PLUGINS_DIR;
      else process.env.CTR_PLUGINS_DIR = before;
    }
  }

  test('with --authorization-plugin naming no plugin', async () => {
    expect(await ctrd(['--authorization-plugin', 'policy', '--authorization-plugin', 'nope'])).toEqual({
      code: 1,
      stderr: 'ctrd: failed to validate authorization plugin: plugin "nope" not found\n',
    });
  });

  test("with daemon.json's authorization-plugins naming a plugin that is no authorization plugin", async () => {
    const volumes = await startVolumePlugin(join(pluginDir, 'volumes.sock'), join(work.dir, 'volume-data'));
    try {
      const config = join(work.dir, 'daemon.json');
      await writeFile(config, JSON.stringify({ 'authorization-plugins': ['volumes'] }));
      const { code, stderr } = await ctrd(['--config-file', config]);
      expect(code).toBe(1);
      expect(stderr).toMatch(/^ctrd: failed to validate authorization plugin: Plugin does not implement the requested driver/);
    } finally {
      await volumes.stop();
    }
  });
});

test('a managed authorization plugin refuses requests until docker plugin disable takes it out of the chain', async () => {
  const dir = await writePluginDir(join(work.dir, 'managed'), {
    description: 'An authorization plugin that refuses deny-me',
    entrypoint: ['/usr/bin/node', '/plugin/authz.js', 'authz.sock', 'deny-me'],
    interface: { types: ['docker.authz/1.0'], socket: 'authz.sock' },
  });
  await fs.copyFile(join(__dirname, 'authz-plugin-server.js'), join(dir, 'rootfs', 'plugin', 'authz.js'));
  expect(await docker(t.env, ['plugin', 'create', 'test/authz', dir])).toMatchObject({ code: 0 });
  expect(await docker(t.env, ['plugin', 'enable', 'test/authz'])).toMatchObject({ code: 0 });
  const socket = join(work.dir, 'managed.sock');
  const guarded = await ApiServer.listen({ engine: t.daemon.engine, hosts: [`unix://${socket}`], authorizationPlugins: ['test/authz'] });
  try {
    const guardedEnv = { ...t.env, DOCKER_HOST: `unix://${socket}` };
    expect(await docker(guardedEnv, ['inspect', 'deny-me'])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('Error response from daemon: authorization denied by plugin test/authz:latest: deny-me is not allowed'),
    });
    expect(await docker(guardedEnv, ['plugin', 'disable', 'test/authz'])).toMatchObject({ code: 0, stdout: 'test/authz\n' });
    const after = await docker(guardedEnv, ['inspect', 'deny-me']);
    expect(after).toMatchObject({ code: 1, stderr: expect.stringContaining('No such object: deny-me') });
  } finally {
    await guarded.close();
    await docker(t.env, ['plugin', 'rm', '-f', 'test/authz']);
  }
});
