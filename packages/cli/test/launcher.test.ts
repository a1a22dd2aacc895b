/**
 * `bin/ctr`, the launcher npm links as `ctr`: it replaces itself with `node bin/ctr.js`
 * (same process, status, signals and stdio), and moves NODE_EXTRA_CA_CERTS to
 * CTR_EXTRA_CA_CERTS so Node does not parse a CA bundle at every start — while a daemon
 * whose certificate that CA signed is still trusted when ctr connects to it over TLS.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer } from '@ctr/api';
import { runProcess, type ProcessResult } from '../../../test/support/run-process';
import { makeTlsCertificates, readTlsFiles } from '../../../test/support/tls-certs';
import { cleanEnv, ctr, startTestDaemon, type TestDaemon } from './remote-fixture';

const LAUNCHER = join(__dirname, '..', 'bin', 'ctr');
const HINT = 'point CTR_EXTRA_CA_CERTS (or NODE_EXTRA_CA_CERTS, which the ctr launcher moves there) at a PEM file of CA certificates, or unset it';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-cli-launcher-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The environment without NODE_EXTRA_CA_CERTS and CTR_EXTRA_CA_CERTS, plus `extra`. */
function envWith(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = cleanEnv({ CTR_CONFIG: join(dir, 'config') });
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.CTR_EXTRA_CA_CERTS;
  return { ...env, ...extra };
}

function launch(args: string[], env: NodeJS.ProcessEnv = envWith(), launcher = LAUNCHER): Promise<ProcessResult> {
  return runProcess(launcher, args, { env });
}

test('the launcher runs ctr', async () => {
  expect(await launch(['--version'])).toEqual({ code: 0, stdout: expect.stringMatching(/^ctr version \S+/), stderr: '' });
});

test('a failing command ends with the same status and output as node bin/ctr.js gives', async () => {
  const direct = await ctr(['no-such-command'], { env: envWith() });
  expect(direct.code).not.toBe(0);
  expect(await launch(['no-such-command'])).toEqual(direct);
});

test('through a symlink in another directory (how npm installs bins) it finds ctr.js beside itself', async () => {
  const link = join(dir, 'ctr');
  await symlink(LAUNCHER, link);
  expect((await launch(['--version'], envWith(), link)).code).toBe(0);
});

test('run by sh from its own directory, by bare name, it finds ctr.js beside itself', async () => {
  const result = await new Promise<number | null>((resolve) => {
    spawn('sh', ['ctr', '--version'], { cwd: join(__dirname, '..', 'bin'), env: envWith(), stdio: 'ignore' }).once('exit', resolve);
  });
  expect(result).toBe(0);
});

describe('the node process the launcher becomes', () => {
  /** `ctr events` through the launcher (it runs until stopped): its /proc cmdline and environment once node runs. */
  async function inspectEvents(env: NodeJS.ProcessEnv): Promise<{ argv: string[]; env: string[]; ended: { code: number | null; signal: NodeJS.Signals | null } }> {
    const child = spawn(LAUNCHER, ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), 'events'], { env, stdio: 'ignore' });
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      const pid = child.pid as number;
      let argv: string[] = [];
      for (let tries = 0; !argv.some((arg) => arg.endsWith('/ctr.js')); tries += 1) {
        if (tries > 200) throw new Error(`the launcher did not become node: ${argv.join(' ')}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
        argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      }
      const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
      process.kill(pid, 'SIGTERM');
      return { argv, env: environ, ended: await ended };
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await ended;
      }
    }
  }

  test('is the launcher process itself (exec): a signal sent to it reaches ctr', async () => {
    const seen = await inspectEvents(envWith());
    expect(seen.argv[0]).toMatch(/node$/);
    expect(seen.ended).toEqual({ code: null, signal: 'SIGTERM' });
  });

  test('has CTR_EXTRA_CA_CERTS instead of NODE_EXTRA_CA_CERTS', async () => {
    const seen = await inspectEvents(envWith({ NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt' }));
    expect(seen.env).toContain('CTR_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt');
    expect(seen.env.filter((entry) => entry.startsWith('NODE_EXTRA_CA_CERTS='))).toEqual([]);
  });

  test('an empty NODE_EXTRA_CA_CERTS sets no CTR_EXTRA_CA_CERTS', async () => {
    const seen = await inspectEvents(envWith({ NODE_EXTRA_CA_CERTS: '' }));
    expect(seen.env.filter((entry) => /^(NODE|CTR)_EXTRA_CA_CERTS=/.test(entry))).toEqual([]);
  });
});

describe('a daemon over TLS whose certificate a private CA signed, with a context that names no CA', () => {
  let t: TestDaemon;
  let server: ApiServer;
  let certs: string;

  beforeAll(async () => {
    t = await startTestDaemon();
    certs = join(dir, 'certs');
    await mkdir(certs);
    await makeTlsCertificates(certs);
    server = await ApiServer.listen({ engine: t.daemon.engine, hosts: ['tcp://127.0.0.1:0'], tls: await readTlsFiles(certs, 'server') });
    await t.daemon.engine.createVolume({ name: 'trusted-by-extra-ca' });
    const spec = `host=${server.addresses[0]?.host as string},cert=${join(certs, 'cert.pem')},key=${join(certs, 'key.pem')}`;
    const created = await launch(['context', 'create', 'private-ca', '--docker', spec]);
    if (created.code !== 0) throw new Error(`ctr context create failed: ${created.stderr}`);
  });
  afterAll(async () => {
    await server?.close();
    await t?.cleanup();
  });

  test('is trusted when NODE_EXTRA_CA_CERTS names the CA', async () => {
    const result = await launch(['--context', 'private-ca', 'volume', 'ls', '-q'], envWith({ NODE_EXTRA_CA_CERTS: join(certs, 'ca.pem') }));
    expect(result).toEqual({ code: 0, stdout: 'trusted-by-extra-ca\n', stderr: '' });
  });

  test('is refused with a certificate error and exit status 1 without it', async () => {
    const result = await launch(['--context', 'private-ca', 'volume', 'ls', '-q']);
    expect(result).toEqual({ code: 1, stdout: '', stderr: expect.stringMatching(/^error during connect: .*certificate.*\n$/) });
  });

  test('a NODE_EXTRA_CA_CERTS naming a missing file fails the command with exit status 1, naming the variable, the file and what to do', async () => {
    const missing = join(certs, 'no-such-ca.pem');
    const result = await launch(['--context', 'private-ca', 'volume', 'ls', '-q'], envWith({ NODE_EXTRA_CA_CERTS: missing }));
    expect(result).toEqual({ code: 1, stdout: '', stderr: `cannot load extra CA certificates from CTR_EXTRA_CA_CERTS=${missing}: no such file\n${HINT}\n` });
  });
});
