/**
 * The remote log drivers' options, checked when the container is made as moby's validators
 * check them, in their words; and the local cache they keep beside (moby's local driver's).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logSettings, remoteLog } from '../src/log-config';
import type { LogSource } from '../src/log-details';

const SOURCE: LogSource = { id: 'c'.repeat(64), name: 'c', imageId: 'sha256:' + 'i'.repeat(64), image: 'busybox', path: 'sh', args: [], labels: {}, env: [] };
/** What the runtime is given for `driver` with `options`, checked first. */
const runtimeLog = (driver: string, options: Record<string, string>): ReturnType<typeof remoteLog> => remoteLog(settings(driver, options).remote as NonNullable<ReturnType<typeof logSettings>['remote']>, SOURCE);

const settings = (driver: string, options: Record<string, string>): ReturnType<typeof logSettings> => logSettings({ driver, options });

test("the cache is moby's local driver's by default: five gzipped files of 20 MB", () => {
  expect(settings('syslog', { 'syslog-address': 'udp://127.0.0.1:514' })).toEqual({
    logSizeMax: '20m',
    logMaxFiles: 5,
    logCompress: true,
    remote: { driver: 'syslog', options: { 'syslog-address': 'udp://127.0.0.1:514' }, cache: true },
    warnings: [],
  });
});

test('the cache- options size the cache, and cache-disabled=true keeps none', () => {
  expect(settings('gelf', { 'gelf-address': 'udp://127.0.0.1:12201', 'cache-max-size': '1m', 'cache-max-file': '2', 'cache-compress': 'false' })).toMatchObject({
    logSizeMax: '1m',
    logMaxFiles: 2,
    remote: { cache: true },
  });
  expect(settings('fluentd', { 'cache-disabled': 'true' })).toEqual({ remote: { driver: 'fluentd', options: {}, cache: false }, warnings: [] });
  expect(() => settings('fluentd', { 'cache-disabled': 'maybe' })).toThrow('invalid value for option cache-disabled: maybe');
});

test("an option the driver does not take is refused in each driver's words", () => {
  expect(() => settings('syslog', { 'max-size': '1m' })).toThrow("unknown log opt 'max-size' for syslog log driver");
  expect(() => settings('gelf', { 'gelf-address': 'udp://127.0.0.1:12201', 'gelf-tag': 'x' })).toThrow('unknown log opt "gelf-tag" for gelf log driver');
  expect(() => settings('fluentd', { 'fluentd-tag': 'x' })).toThrow("unknown log opt 'fluentd-tag' for fluentd log driver");
});

test("a bad syslog address, facility or format is refused in moby's words", () => {
  expect(() => settings('syslog', { 'syslog-address': 'http://127.0.0.1' })).toThrow("unsupported scheme: 'http'");
  expect(() => settings('syslog', { 'syslog-address': 'udp://127.0.0.1:port' })).toThrow('parse "udp://127.0.0.1:port": invalid port ":port" after host');
  const dir = mkdtempSync(join(tmpdir(), 'ctr-log-driver-'));
  try {
    expect(() => settings('syslog', { 'syslog-address': `unix://${dir}/missing.sock` })).toThrow(`stat ${dir}/missing.sock: no such file or directory`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  expect(() => settings('syslog', { 'syslog-facility': 'local8' })).toThrow('invalid syslog facility');
  expect(() => settings('syslog', { 'syslog-facility': '24' })).toThrow('invalid syslog facility');
  expect(() => settings('syslog', { 'syslog-format': 'rfc9999' })).toThrow('Invalid syslog format');
});

test('syslog over TLS (tcp+tls://) is taken with its TLS options', () => {
  expect(settings('syslog', { 'syslog-address': 'tcp+tls://127.0.0.1:6514', 'syslog-tls-ca-cert': '/ca.pem', 'syslog-tls-skip-verify': 'true' }).remote?.driver).toBe('syslog');
});

test('syslog-tls-skip-verify skips the check unless it says false; the TLS files are passed as named', () => {
  const tls = (options: Record<string, string>): unknown => (runtimeLog('syslog', { 'syslog-address': 'tcp+tls://127.0.0.1:6514', ...options }) as { tls?: unknown }).tls;
  expect(tls({ 'syslog-tls-ca-cert': '/ca.pem', 'syslog-tls-cert': '/c.pem', 'syslog-tls-key': '/k.pem' })).toEqual({ caCert: '/ca.pem', cert: '/c.pem', key: '/k.pem', skipVerify: false });
  expect(tls({ 'syslog-tls-skip-verify': 'true' })).toMatchObject({ skipVerify: true });
  expect(tls({ 'syslog-tls-skip-verify': '' })).toMatchObject({ skipVerify: true });
  expect(tls({ 'syslog-tls-skip-verify': 'false' })).toMatchObject({ skipVerify: false });
  expect((runtimeLog('syslog', { 'syslog-address': 'tcp://127.0.0.1:514', 'syslog-tls-skip-verify': 'true' }) as { tls?: unknown }).tls).toBeUndefined();
});

test('an IPv6 syslog address without a port gets 514 after its brackets', () => {
  expect((runtimeLog('syslog', { 'syslog-address': 'udp://[::1]' }) as { address?: unknown }).address).toEqual({ network: 'udp', address: '[::1]:514' });
});

test("fluentd's zero buffer limit, retry wait and retry count are fluent-logger's defaults; request-ack is passed on", () => {
  expect(runtimeLog('fluentd', { 'fluentd-buffer-limit': '0', 'fluentd-retry-wait': '0s', 'fluentd-max-retries': '0', 'fluentd-request-ack': 'true' })).toMatchObject({
    bufferLimit: 8192,
    retryWait: 500,
    maxRetries: 13,
    requestAck: true,
  });
});

test("bracketed IPv6 addresses are taken as Go's url.Parse and net.SplitHostPort take them", () => {
  expect(() => settings('syslog', { 'syslog-address': 'udp://[::1]:514' })).not.toThrow();
  expect(() => settings('syslog', { 'syslog-address': 'tcp://[::1]' })).not.toThrow();
  expect(() => settings('gelf', { 'gelf-address': 'udp://[::1]:12201' })).not.toThrow();
  expect(() => settings('fluentd', { 'fluentd-address': '[::1]:24224' })).not.toThrow();
  expect(() => settings('fluentd', { 'fluentd-address': 'tcp://[::1]' })).not.toThrow();
});

test("an IPv6 address without brackets is refused in Go's words", () => {
  expect(() => settings('syslog', { 'syslog-address': 'udp://::1:514' })).toThrow('address ::1:514: too many colons in address');
  expect(() => settings('syslog', { 'syslog-address': 'udp://[::1' })).toThrow('parse "udp://[::1": missing \']\' in host');
  expect(() => settings('gelf', { 'gelf-address': 'udp://::1:12201' })).toThrow('gelf: please provide gelf-address as proto://host:port');
});

test("gelf needs a udp:// or tcp:// address with a port, and compression only over UDP, in moby's words", () => {
  expect(() => settings('gelf', {})).toThrow('gelf-address is a required parameter');
  expect(() => settings('gelf', { 'gelf-address': 'unix:///tmp/gelf.sock' })).toThrow('gelf: endpoint needs to be TCP or UDP');
  expect(() => settings('gelf', { 'gelf-address': 'udp://127.0.0.1' })).toThrow('gelf: please provide gelf-address as proto://host:port');
  expect(() => settings('gelf', { 'gelf-address': 'tcp://127.0.0.1:12201', 'gelf-compression-type': 'gzip' })).toThrow('compression is only supported on UDP');
  expect(() => settings('gelf', { 'gelf-address': 'udp://127.0.0.1:12201', 'gelf-compression-type': 'lz4' })).toThrow('unknown value "lz4" for log opt "gelf-compression-type" for gelf log driver');
  expect(() => settings('gelf', { 'gelf-address': 'udp://127.0.0.1:12201', 'gelf-compression-level': '10' })).toThrow('unknown value "10" for log opt "gelf-compression-level" for gelf log driver');
  expect(() => settings('gelf', { 'gelf-address': 'udp://127.0.0.1:12201', 'gelf-tcp-max-reconnect': '2' })).toThrow('"gelf-tcp-max-reconnect" is only valid for TCP');
  expect(() => settings('gelf', { 'gelf-address': 'tcp://127.0.0.1:12201', 'gelf-tcp-reconnect-delay': '-1' })).toThrow('"gelf-tcp-reconnect-delay" must be a positive integer');
});

test("fluentd's address, booleans and durations are checked in moby's words", () => {
  expect(() => settings('fluentd', { 'fluentd-address': 'udp://127.0.0.1:24224' })).toThrow("invalid fluentd-address (udp://127.0.0.1:24224): unsupported scheme: 'udp'");
  expect(() => settings('fluentd', { 'fluentd-address': 'tcp://127.0.0.1:24224/path' })).toThrow('invalid fluentd-address (tcp://127.0.0.1:24224/path): should not contain a path element');
  expect(() => settings('fluentd', { 'fluentd-async': 'yes' })).toThrow('strconv.ParseBool: parsing "yes": invalid syntax');
  expect(() => settings('fluentd', { 'fluentd-async': 'true', 'fluentd-async-connect': 'true' })).toThrow("conflicting options: cannot specify both 'fluentd-async' and 'fluentd-async-connect");
  expect(() => settings('fluentd', { 'fluentd-retry-wait': 'soon' })).toThrow('time: invalid duration "soon"');
  expect(() => settings('fluentd', { 'fluentd-max-retries': '-1' })).toThrow('strconv.ParseUint: parsing "-1": invalid syntax');
  expect(() => settings('fluentd', { 'fluentd-request-ack': 'maybe' })).toThrow('strconv.ParseBool: parsing "maybe": invalid syntax');
});

test("the delivery mode is any driver's option, checked in dockerd's words", () => {
  expect(settings('syslog', { mode: 'non-blocking', 'max-buffer-size': '4m' }).remote?.options).toEqual({});
  expect(() => settings('syslog', { mode: 'lossy' })).toThrow('logger: logging mode not supported: lossy');
  expect(() => settings('syslog', { 'max-buffer-size': '4m' })).toThrow("logger: max-buffer-size option is only supported with 'mode=non-blocking'");
});

test('a max-buffer-size that is no size is refused in moby\'s words, with the hint of what it takes', () => {
  expect(() => settings('syslog', { mode: 'non-blocking', 'max-buffer-size': 'lots' })).toThrow(
    expect.objectContaining({ message: "error parsing option max-buffer-size: invalid size: 'lots'", hint: expect.stringContaining('max-buffer-size takes a number of bytes') }),
  );
});
