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

describe('a daemon.json read', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-daemon-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** The configuration `text` makes as a daemon.json, with `flags` given beside it. */
  async function load(text: string, flags: FlagConfig = {}): Promise<ReturnType<typeof loadDaemonConfig>> {
    const file = join(dir, 'daemon.json');
    await writeFile(file, text);
    return loadDaemonConfig({ file, flags });
  }

  describe('swarm-default-advertise-addr', () => {
    test('is taken from the file, an interface name or an address alike', async () => {
      expect(await load('{"swarm-default-advertise-addr": "eth0"}')).toEqual({ 'swarm-default-advertise-addr': 'eth0' });
      expect(await load('{"swarm-default-advertise-addr": "10.0.0.5"}')).toEqual({ 'swarm-default-advertise-addr': '10.0.0.5' });
    });

    test('is taken from its flag', () => {
      const option = daemonOptionOfFlag('--swarm-default-advertise-addr');
      if (!option) throw new Error('no --swarm-default-advertise-addr option');
      const flags: FlagConfig = {};
      addFlagValue(flags, option, '192.0.2.7');
      expect(flags).toEqual({ 'swarm-default-advertise-addr': '192.0.2.7' });
    });

    test('set by both the flag and the file is refused in dockerd words', async () => {
      await expect(load('{"swarm-default-advertise-addr": "eth0"}', { 'swarm-default-advertise-addr': 'eth1' })).rejects.toThrow(
        `unable to configure the ctr daemon with file ${join(dir, 'daemon.json')}: the following directives are specified both as a flag and in the configuration file: swarm-default-advertise-addr: (from flag: eth1, from file: eth0)`,
      );
    });

    test('that is not a string is refused as encoding/json refuses it', async () => {
      await expect(load('{"swarm-default-advertise-addr": 10}')).rejects.toThrow('json: cannot unmarshal number into Go struct field Config.swarm-default-advertise-addr of type string');
    });
  });

  describe('a number where dockerd wants an integer', () => {
    test('written with a fraction is refused in Go words, as written', async () => {
      await expect(load('{"max-concurrent-downloads": 1.0}')).rejects.toThrow('json: cannot unmarshal number 1.0 into Go struct field Config.max-concurrent-downloads of type int');
    });

    test('written with an exponent is refused', async () => {
      await expect(load('{"shutdown-timeout": 1e1}')).rejects.toThrow('json: cannot unmarshal number 1e1 into Go struct field Config.shutdown-timeout of type int');
    });

    test('beyond a 64-bit integer is refused', async () => {
      await expect(load('{"max-concurrent-uploads": 9223372036854775808}')).rejects.toThrow('json: cannot unmarshal number 9223372036854775808 into Go struct field Config.max-concurrent-uploads of type int');
    });

    test('inside a ulimit or an address pool is refused', async () => {
      await expect(load('{"default-ulimits": {"nofile": {"Name": "nofile", "Soft": 1.0, "Hard": 2}}}')).rejects.toThrow('Config.default-ulimits');
      await expect(load('{"default-address-pools": [{"base": "10.41.0.0/16", "size": 24.0}]}')).rejects.toThrow('Config.default-address-pools');
    });

    test('written as digits is taken, a key written twice by its last value', async () => {
      expect(await load('{"max-concurrent-downloads": 1.5, "max-concurrent-downloads": 2, "shutdown-timeout": -1}')).toEqual({ 'max-concurrent-downloads': 2, 'shutdown-timeout': -1 });
    });

    test('in a string is no number', async () => {
      expect(await load('{"labels": ["ratio=1.0"], "max-concurrent-uploads": 4}')).toEqual({ labels: ['ratio=1.0'], 'max-concurrent-uploads': 4 });
    });
  });
});
