/**
 * Which keys an ssh:// connection offers, and in which order: ssh's (the agent's keys, then
 * the config's identity files). The server here counts one failed key as too many
 * (`MaxAuthTries 1`), so only the first key offered can get in.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '@ctr/api';
import { startSshd, type TestSshd } from '../../../test/support/sshd';
import { startTestDaemon, type TestDaemon } from './fixture';

const BUILT = join(__dirname, '..', 'dist', 'index.js');

let t: TestDaemon;
let work: string;
let sshd: TestSshd;
let agent: ChildProcess | undefined;
const savedAgent = process.env.SSH_AUTH_SOCK;

beforeAll(async () => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: build first (npx tsc -b packages/api)`);
  t = await startTestDaemon();
  work = await mkdtemp(join(tmpdir(), 'ctr-api-ssh-order-'));
  sshd = await startSshd(work, ['MaxAuthTries 1']);
});

afterEach(async () => {
  if (savedAgent === undefined) delete process.env.SSH_AUTH_SOCK;
  else process.env.SSH_AUTH_SOCK = savedAgent;
  if (agent && agent.exitCode === null && agent.signalCode === null) {
    const exited = new Promise((resolve) => agent?.once('exit', resolve));
    agent.kill('SIGTERM');
    await exited;
  }
  agent = undefined;
});

afterAll(async () => {
  await sshd?.stop();
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

/** An ssh-agent of this test's own, in the foreground, holding `keyName`. */
async function startAgent(keyName: string): Promise<string> {
  const socket = join(work, `agent-${keyName}.sock`);
  agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 20));
  execFileSync('ssh-add', ['-q', join(work, keyName)], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
  return socket;
}

/** A client for the `box` alias of an ssh config whose only IdentityFile is `keyName`. */
async function clientWithIdentityFile(keyName: string): Promise<ApiClient> {
  const config = join(work, `config-${keyName}`);
  await writeFile(config, `Host box\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User root\n  IdentityFile ${join(work, keyName)}\n`);
  const knownHosts = join(work, 'known_hosts');
  await writeFile(knownHosts, await sshd.knownHostsLine('host_key'));
  const script = `require(${JSON.stringify(BUILT)}).dialStdio(${JSON.stringify(t.socket)}, process.stdin, process.stdout).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); })`;
  return new ApiClient({ host: 'ssh://box', ssh: { config, knownHosts, dialStdio: `${process.execPath} -e '${script}'` } });
}

/** The API version the daemon answers a ping with, through `client` (closed after). */
async function pingVersion(client: ApiClient): Promise<string> {
  try {
    return (await client.ping()).apiVersion;
  } finally {
    client.close();
  }
}

test("the agent's key is offered before the config's identity file", async () => {
  process.env.SSH_AUTH_SOCK = await startAgent('user_key');
  expect(await pingVersion(await clientWithIdentityFile('other_key'))).toBe('1.47');
});

test("without an agent, the config's identity file is the key offered", async () => {
  delete process.env.SSH_AUTH_SOCK;
  expect(await pingVersion(await clientWithIdentityFile('user_key'))).toBe('1.47');
});

test('a server that refuses the first key offered is an error naming the host', async () => {
  process.env.SSH_AUTH_SOCK = await startAgent('other_key');
  await expect(pingVersion(await clientWithIdentityFile('user_key'))).rejects.toMatchObject({ message: expect.stringContaining('127.0.0.1') });
});
