/** `docker info` from the engine: dockerd's system.Info, true of this host and of ctr. */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '@ctr/engine';
import { hasSwapAccounting, type CgroupFeatures } from '@ctr/runtime';
import { hostWarnings, overlayDriverStatus, proxyFromEnv, registryConfig } from '../src/host-info';
import { testEngine, type TestEngine } from './fixture';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t?.cleanup();
});

describe('the engine ID', () => {
  let root: string;
  let runRoot: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'ctr-info-id-'));
    runRoot = await mkdtemp(join(tmpdir(), 'ctr-info-id-run-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(runRoot, { recursive: true, force: true });
  });

  async function infoId(): Promise<string> {
    const engine = new Engine({ root, runRoot });
    try {
      return (await engine.info()).ID;
    } finally {
      await engine.close();
    }
  }

  test('is a UUID', async () => {
    expect(await infoId()).toMatch(UUID);
  });

  test('is the same for two engines opening a fresh root at once', async () => {
    const [first, second] = await Promise.all([infoId(), infoId()]);
    expect(second).toBe(first);
  });

  test('is kept in the root across reopening it', async () => {
    const first = await infoId();
    expect(await infoId()).toBe(first);
  });
});

test('SwapLimit is the runtime fact of swap accounting', async () => {
  expect((await t.engine.info()).SwapLimit).toBe(await hasSwapAccounting());
});

test("dockerd's swap warning is given exactly when swap is not accounted", async () => {
  const info = await t.engine.info();
  expect((info.Warnings ?? []).includes('WARNING: No swap limit support')).toBe(!info.SwapLimit);
});

const ALL_CGROUP_FEATURES: CgroupFeatures = { version: '1', memoryLimit: true, swapLimit: true, oomKillDisable: true, cpuCfsPeriod: true, cpuCfsQuota: true, cpuShares: true, cpuSet: true, pidsLimit: true };

test('a host that can do all dockerd checks for gets no warnings', () => {
  expect(hostWarnings(ALL_CGROUP_FEATURES, true)).toEqual([]);
});

test('what the host cannot do is warned of in the words of dockerd', () => {
  expect(hostWarnings({ ...ALL_CGROUP_FEATURES, swapLimit: false }, false)).toEqual(['WARNING: No swap limit support', 'WARNING: IPv4 forwarding is disabled']);
});

test('the init binary is docker-init, the name --init runs tini under', async () => {
  expect((await t.engine.info()).InitBinary).toBe('docker-init');
});

test('live restore is enabled: containers run on when the daemon stops', async () => {
  expect((await t.engine.info()).LiveRestoreEnabled).toBe(true);
});

test("the runc commit is the commit line of runc's version", async () => {
  const commit = /^commit:\s*(.+)$/m.exec(execFileSync('runc', ['--version'], { encoding: 'utf8' }))?.[1];
  expect(commit).toBeTruthy();
  expect((await t.engine.info()).RuncCommit.ID).toBe(commit);
});

test("the backing filesystem is the root's, named as moby names it", async () => {
  // GNU stat names the ext family "ext2/ext3", which moby calls extfs.
  const named = execFileSync('stat', ['-f', '-c', '%T', t.root], { encoding: 'utf8' }).trim().replace('ext2/ext3', 'extfs');
  expect((await t.engine.info()).DriverStatus[0]).toEqual(['Backing Filesystem', named]);
});

test('overlay2 on a tmpfs reports a tmpfs backing filesystem and the rest of its status as dockerd', () => {
  expect(overlayDriverStatus('/dev/shm')).toEqual([
    ['Backing Filesystem', 'tmpfs'],
    ['Supports d_type', 'true'],
    ['Using metacopy', 'false'],
    ['Native Overlay Diff', 'true'],
    ['userxattr', 'false'],
  ]);
});

test("a proxy's credentials are masked as dockerd masks them", () => {
  expect(proxyFromEnv({ HTTP_PROXY: 'http://user:secret@127.0.0.1:3128' }, 'HTTP_PROXY')).toBe('http://xxxxx:xxxxx@127.0.0.1:3128');
});

test('a proxy set in lower case is read when the upper case one is not', () => {
  expect(proxyFromEnv({ https_proxy: 'http://127.0.0.1:3128' }, 'HTTPS_PROXY')).toBe('http://127.0.0.1:3128');
});

test("insecure registries and mirrors are dockerd's index configs, loopback insecure by default", () => {
  expect(registryConfig({ insecureRegistries: ['myreg:5000'], mirrors: ['http://127.0.0.1:5001'] })).toEqual({
    IndexConfigs: {
      'docker.io': { Mirrors: ['http://127.0.0.1:5001/'], Name: 'docker.io', Official: true, Secure: true },
      'myreg:5000': { Mirrors: [], Name: 'myreg:5000', Official: false, Secure: false },
    },
    InsecureRegistryCIDRs: ['::1/128', '127.0.0.0/8'],
    Mirrors: ['http://127.0.0.1:5001/'],
  });
});
