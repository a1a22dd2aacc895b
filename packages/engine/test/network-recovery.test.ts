import { execFile } from 'node:child_process';
import { access, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Engine } from '@ctr/engine';
import { reserveTestBlock, type TestBlock } from '../../../test/support/test-subnets';
import { testEngine, type TestEngine } from './fixture';

// After a reboot-like loss of the run directory (every process and namespace gone), a
// container that comes back gets its network again from what it is connected to.

let t: TestEngine;
let engine: Engine | undefined;
let block: TestBlock;
const network = `recovered-${process.pid}`;

beforeAll(async () => {
  t = await testEngine();
  block = reserveTestBlock();
});

afterAll(async () => {
  const last = engine ?? t.engine;
  for (const c of await last.ps({ all: true }).catch(() => [])) await last.remove(c.Id, { force: true }).catch(() => undefined);
  await last.removeNetwork(network).catch(() => undefined);
  await engine?.close();
  await t?.cleanup();
  block?.release();
});

test('an always container on a user network comes back with its --ip and a namespace of its own', async () => {
  // An --ip needs a subnet given at create.
  const subnet = block.subnet(0);
  await t.engine.createNetwork({ name: network, subnet });
  const ip = subnet.replace(/\.\d+\/\d+$/, '.90');
  const { id } = await t.engine.run({ image: 'busybox', pull: 'never', network, ip, restart: 'always', cmd: ['sleep', '300'], detach: true });
  // The "reboot": the processes this test started killed by their PIDs, mounts and /run gone.
  const dnsPid = Number(await readFile(join(t.runRoot, 'network', 'dns.pid'), 'utf8'));
  const conmon = Number(await readFile(join(t.root, 'containers', id, 'conmon.pid'), 'utf8'));
  const pid = (await t.engine.inspect(id)).State.Pid;
  // The monitor first, as a power cut takes it: killed after its container, it could record that exit.
  process.kill(conmon, 'SIGKILL');
  process.kill(pid, 'SIGKILL');
  process.kill(dnsPid, 'SIGKILL');
  await promisify(execFile)('umount', [join(t.root, 'engine', 'rootfs', id)]).catch(() => undefined);
  await promisify(execFile)('umount', [join(t.runRoot, 'netns', id)]).catch(() => undefined);
  await rm(t.runRoot, { recursive: true, force: true });
  await mkdir(t.runRoot);

  engine = new Engine({ root: t.root, runRoot: t.runRoot });
  expect((await engine.recover()).restarted).toEqual([id]);
  const inspected = await engine.inspect(id);
  expect(inspected.State.Running).toBe(true);
  expect(inspected.NetworkSettings.Networks[network]?.IPAddress).toBe(ip);
  await access(join(t.runRoot, 'netns', id));
  expect(Object.keys((await engine.inspectNetwork(network)).Containers)).toEqual([id]);
});
