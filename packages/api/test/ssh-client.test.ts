import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '@ctr/api';
import { startSshd, type TestSshd } from '../../../test/support/sshd';
import { startTestDaemon, type TestDaemon } from './fixture';

const BUILT = join(__dirname, '..', 'dist', 'index.js');

let t: TestDaemon;
let work: string;
let sshd: TestSshd;

beforeAll(async () => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: build first (npx tsc -b packages/api)`);
  t = await startTestDaemon();
  work = await mkdtemp(join(tmpdir(), 'ctr-api-ssh-'));
  sshd = await startSshd(work);
});

afterAll(async () => {
  await sshd?.stop();
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

function dialStdioCommand(): string {
  const script = `require(${JSON.stringify(BUILT)}).dialStdio(${JSON.stringify(t.socket)}, process.stdin, process.stdout).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); })`;
  return `${process.execPath} -e '${script}'`;
}

async function knownHosts(keyFile: string): Promise<string> {
  const file = join(work, `known_hosts-${keyFile}`);
  await writeFile(file, await sshd.knownHostsLine(keyFile));
  return file;
}

test('the typed client speaks to ctrd over ssh:// through dial-stdio', async () => {
  const client = new ApiClient({
    host: `ssh://root@127.0.0.1:${sshd.port}`,
    ssh: { privateKey: await readFile(join(work, 'user_key')), knownHosts: await knownHosts('host_key'), dialStdio: dialStdioCommand() },
  });
  try {
    expect((await client.ping()).apiVersion).toBe('1.47');
    const { Id } = await client.createContainer({ Image: 'busybox', Cmd: ['echo', 'over ssh'], HostConfig: { NetworkMode: 'none' } });
    // Each request opens its own SSH channel, so `next-exit` sent before start may arrive after the exit.
    await client.startContainer(Id);
    expect((await client.waitContainer(Id, 'not-running')).StatusCode).toBe(0);
    const out: string[] = [];
    for await (const entry of client.logs(Id)) out.push(entry.data.toString());
    expect(out.join('')).toBe('over ssh\n');
    await client.removeContainer(Id);
  } finally {
    client.close();
  }
});

test('a host key that does not match known_hosts is refused', async () => {
  const client = new ApiClient({
    host: `ssh://root@127.0.0.1:${sshd.port}`,
    ssh: { privateKey: await readFile(join(work, 'user_key')), knownHosts: await knownHosts('other_key'), dialStdio: dialStdioCommand() },
  });
  await expect(client.ping()).rejects.toMatchObject({ code: 'Unauthorized', message: expect.stringContaining('does not match') });
  client.close();
});

test('a host missing from known_hosts is refused before connecting', async () => {
  const empty = join(work, 'known_hosts-empty');
  await writeFile(empty, '');
  const client = new ApiClient({ host: `ssh://root@127.0.0.1:${sshd.port}`, ssh: { privateKey: await readFile(join(work, 'user_key')), knownHosts: empty } });
  await expect(client.ping()).rejects.toMatchObject({ code: 'Unauthorized', message: expect.stringContaining('no host key for 127.0.0.1') });
});
