import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '@ctr/engine';
import { collector } from './fixture';

// The host's resolver configuration a container's resolv.conf is made from: /etc/resolv.conf
// unless the engine is given another (`hostResolvConf`, or $CTR_RESOLV_CONF, which the test
// suite sets so that nothing a test runs asks the machine's name servers).

let root: string;
let runRoot: string;
let hostFile: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ctr-resolv-'));
  runRoot = await mkdtemp(join(tmpdir(), 'ctr-resolv-run-'));
  hostFile = join(root, 'host-resolv.conf');
  await writeFile(hostFile, 'nameserver 192.0.2.53\nnameserver 127.0.0.53\nsearch corp.test\noptions edns0\n');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(runRoot, { recursive: true, force: true });
});

async function resolvConfOf(engine: Engine): Promise<string> {
  await engine.importBusybox();
  const stdout = collector();
  await engine.run({ image: 'busybox', pull: 'never', network: 'none', autoRemove: true, cmd: ['cat', '/etc/resolv.conf'], stdout });
  return stdout.text();
}

test("a container's resolv.conf is made from the engine's hostResolvConf, loopback servers left out", async () => {
  const engine = new Engine({ root, runRoot, hostResolvConf: hostFile });
  expect(await resolvConfOf(engine)).toBe('nameserver 192.0.2.53\nsearch corp.test\noptions edns0\n');
});

test('$CTR_RESOLV_CONF names the host file when the engine is given none', async () => {
  const before = process.env.CTR_RESOLV_CONF;
  process.env.CTR_RESOLV_CONF = hostFile;
  try {
    expect(await resolvConfOf(new Engine({ root, runRoot }))).toContain('nameserver 192.0.2.53\n');
  } finally {
    process.env.CTR_RESOLV_CONF = before;
  }
});

test("the test suite's engines see no host name server", async () => {
  expect(await resolvConfOf(new Engine({ root, runRoot }))).not.toContain('nameserver');
});
