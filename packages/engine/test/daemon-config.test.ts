/** daemon.json's settings as the engine applies them: container defaults, and dockerd's reload rules. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addFlagValue, daemonLogLevel, daemonOptionOfFlag, engineOptionsFromConfig, loadDaemonConfig, reloadedSettings, validateDaemonConfig, withContainerDefaults, type FlagConfig } from '../src/daemon-config';

test("a container's log options go under the default's when it names the default driver", () => {
  const filled = withContainerDefaults({ image: 'busybox', log: { options: { 'max-file': '3' } } }, { log: { driver: 'local', options: { 'max-size': '5m', 'max-file': '2' } } });
  expect(filled.log).toEqual({ driver: 'local', options: { 'max-size': '5m', 'max-file': '3' } });
});

test("a container naming another driver keeps only its own log options", () => {
  const filled = withContainerDefaults({ image: 'busybox', log: { driver: 'json-file' } }, { log: { driver: 'local', options: { 'max-size': '5m' } } });
  expect(filled.log).toEqual({ driver: 'json-file' });
});

test("a container on another container's network gets no default DNS", () => {
  const filled = withContainerDefaults({ image: 'busybox', network: 'container:web' }, { dns: ['10.0.0.2'], dnsSearch: ['example.test'] });
  expect(filled.dns).toBeUndefined();
  expect(filled.dnsSearch).toBeUndefined();
});

test('an explicit --init=false wins over the default init', () => {
  expect(withContainerDefaults({ image: 'busybox', init: false }, { init: true }).init).toBe(false);
  expect(withContainerDefaults({ image: 'busybox' }, { init: true }).init).toBe(true);
});

test("bip's subnet and the address pool become the network manager's settings", () => {
  const options = engineOptionsFromConfig({ bip: '10.40.0.1/16', bridge: 'br-test', 'default-address-pools': [{ base: '10.41.0.0/16', size: 24 }] });
  expect(options.networks).toEqual({ defaultBridge: { bridgeName: 'br-test', subnet: '10.40.0.0/16' }, addressPool: { base: '10.41.0.0/16', size: 24 } });
});

test('a reload keeps what the file leaves out and resets the transfer limits to their defaults', () => {
  const current = { labels: ['a=1'], debug: true, registry: { mirrors: ['http://127.0.0.1:5000'], maxConcurrentDownloads: 9 } };
  const reloaded = reloadedSettings(current, { debug: false });
  expect(reloaded).toMatchObject({ labels: ['a=1'], debug: false, registry: { mirrors: ['http://127.0.0.1:5000'], maxConcurrentDownloads: 3, maxConcurrentUploads: 5 } });
});

test('duplicate label keys with different values are refused as dockerd refuses them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ctr-daemon-config-'));
  try {
    const file = join(dir, 'daemon.json');
    await writeFile(file, '{"labels": ["a=1", "a=2"]}');
    expect(() => loadDaemonConfig({ file })).toThrow('merged configuration validation from file and command line flags failed: conflict labels for a=2 and a=1');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an empty file (a byte order mark and spaces) is an empty configuration', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ctr-daemon-config-'));
  try {
    const file = join(dir, 'daemon.json');
    await writeFile(file, '\ufeff  \n');
    expect(loadDaemonConfig({ file })).toEqual({});
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a bool flag takes Go's ParseBool spellings and refuses others in pflag's words", () => {
  const debug = daemonOptionOfFlag('--debug');
  if (!debug) throw new Error('no --debug option');
  const flags: FlagConfig = {};
  addFlagValue(flags, debug, 'T');
  expect(flags.debug).toBe(true);
  addFlagValue(flags, debug, 'False');
  expect(flags.debug).toBe(false);
  expect(() => addFlagValue(flags, debug, 'yes')).toThrow('invalid argument "yes" for "-D, --debug" flag: strconv.ParseBool: parsing "yes": invalid syntax');
});

test("log-level takes logrus's spellings in any case, warning the same as warn", () => {
  expect(daemonLogLevel({ 'log-level': 'warning' })).toBe('warn');
  expect(daemonLogLevel({ 'log-level': 'ERROR' })).toBe('error');
  expect(() => validateDaemonConfig({ 'log-level': 'Warning' })).not.toThrow();
  expect(() => validateDaemonConfig({ 'log-level': 'loud' })).toThrow('invalid logging level: loud');
});
