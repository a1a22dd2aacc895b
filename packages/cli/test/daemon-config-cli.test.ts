/** The `ctr` command's in-process engine reads the daemon.json `--config-file` / `$CTR_CONFIG_FILE` names, as ctrd does. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

let ctr: LocalCtr;
let dir: string;
let n = 0;

beforeAll(async () => {
  ctr = await localCtr('daemon-config');
  dir = await mkdtemp(join(tmpdir(), 'ctr-daemon-config-'));
});
afterAll(async () => {
  await ctr.cleanup();
  await rm(dir, { recursive: true, force: true });
});

/** `ctr args…` with `$CTR_CONFIG_FILE` naming a file of `text`. */
async function withConfig(text: string, ...args: string[]): Promise<CtrResult> {
  const file = join(dir, `daemon-${n++}.json`);
  await writeFile(file, text);
  return ctr.runWith({ env: { ...process.env, CTR_CONFIG_FILE: file } }, ...args);
}

test("a container naming no log driver gets the file's", async () => {
  const created = await withConfig('{"log-driver": "none"}', 'create', '--network', 'none', 'busybox', 'true');
  expect(created.code).toBe(0);
  const inspected = await ctr.run('inspect', '--format', '{{json .HostConfig.LogConfig}}', created.stdout.trim());
  expect(JSON.parse(inspected.stdout)).toEqual({ Type: 'none', Config: {} });
});

test("a container's own log driver wins over the file's", async () => {
  const created = await withConfig('{"log-driver": "none"}', 'create', '--network', 'none', '--log-driver', 'local', 'busybox', 'true');
  const inspected = await ctr.run('inspect', '--format', '{{.HostConfig.LogConfig.Type}}', created.stdout.trim());
  expect(inspected.stdout.trim()).toBe('local');
});

test("ctr run's container has the file's default ulimits", async () => {
  const config = JSON.stringify({ 'default-ulimits': { nofile: { Name: 'nofile', Soft: 1234, Hard: 2345 } } });
  const run = await withConfig(config, 'run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ulimit -n; ulimit -Hn');
  expect(run).toMatchObject({ code: 0, stdout: '1234\n2345\n' });
});

test("a container's own --ulimit wins over the file's default of that name", async () => {
  const config = JSON.stringify({ 'default-ulimits': { nofile: { Name: 'nofile', Soft: 1234, Hard: 2345 } } });
  const run = await withConfig(config, 'run', '--rm', '--network', 'none', '--ulimit', 'nofile=999', 'busybox', 'sh', '-c', 'ulimit -n');
  expect(run).toMatchObject({ code: 0, stdout: '999\n' });
});

test("a container gets the file's dns servers and search domains in its resolv.conf", async () => {
  const run = await withConfig('{"dns": ["10.9.9.9"], "dns-search": ["example.test"]}', 'run', '--rm', '--network', 'none', 'busybox', 'cat', '/etc/resolv.conf');
  expect(run.code).toBe(0);
  expect(run.stdout).toContain('nameserver 10.9.9.9');
  expect(run.stdout).toContain('search example.test');
});

test("the default bridge takes the file's bip and bridge name", async () => {
  const inspected = await withConfig('{"bip": "10.219.7.1/24", "bridge": "ctrcfg0"}', 'network', 'inspect', 'bridge', '--format', '{{json .IPAM.Config}} {{index .Options "com.docker.network.bridge.name"}}');
  expect(inspected.stdout.trim()).toBe('[{"Subnet":"10.219.7.0/24","Gateway":"10.219.7.1"}] ctrcfg0');
});

test("ctr info shows the file's labels", async () => {
  const info = await withConfig('{"labels": ["tier=test", "zone=a"]}', 'info', '--format', '{{json .Labels}}');
  expect(JSON.parse(info.stdout)).toEqual(['tier=test', 'zone=a']);
});

test('--config-file names the file as $CTR_CONFIG_FILE does', async () => {
  const file = join(dir, 'flag.json');
  await writeFile(file, '{"labels": ["by=flag"]}');
  const info = await ctr.run('--config-file', file, 'info', '--format', '{{json .Labels}}');
  expect(JSON.parse(info.stdout)).toEqual(['by=flag']);
});

test("a file that is not JSON is refused with Go's syntax error and status 125", async () => {
  const run = await withConfig('{"debug": tru}', 'ps');
  expect(run.code).toBe(125);
  expect(run.stderr).toMatch(/^unable to configure the ctr daemon with file .*daemon-\d+\.json: invalid character '}' in literal true \(expecting 'e'\)\n/);
});

test("keys that are no option are refused in dockerd's words", async () => {
  const run = await withConfig('{"foo": 1, "labels": [], "bar": true}', 'ps');
  expect(run.code).toBe(125);
  expect(run.stderr).toContain("the following directives don't match any configuration option: bar, foo");
});

test("a key set by a flag and by the file is refused in dockerd's words", async () => {
  const run = await withConfig('{"insecure-registries": ["127.0.0.1:5000"]}', '--insecure-registry', '127.0.0.1:6000', 'ps');
  expect(run.code).toBe(125);
  expect(run.stderr).toContain(
    'the following directives are specified both as a flag and in the configuration file: insecure-registries: (from flag: [127.0.0.1:6000], from file: [127.0.0.1:5000])',
  );
});

test('a value of the wrong type is refused as encoding/json refuses it', async () => {
  const run = await withConfig('{"debug": "yes"}', 'ps');
  expect(run.code).toBe(125);
  expect(run.stderr).toContain('json: cannot unmarshal string into Go struct field Config.debug of type bool');
});

test('a storage driver other than overlay2 is refused', async () => {
  const run = await withConfig('{"storage-driver": "btrfs"}', 'ps');
  expect(run.code).toBe(125);
  expect(run.stderr).toContain('ctr does not support storage-driver "btrfs"');
});

test('a named file that is missing is an error', async () => {
  const run = await ctr.run('--config-file', join(dir, 'missing.json'), 'ps');
  expect(run.code).toBe(125);
  expect(run.stderr).toContain(`open ${join(dir, 'missing.json')}: no such file or directory`);
});
