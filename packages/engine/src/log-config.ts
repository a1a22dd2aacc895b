import { statSync } from 'node:fs';
import { CtrError, goErrnoWords, invalidArgument, unsupported } from '@ctr/errors';
import { goParseBool } from '@ctr/image';
import { parseBytes, type FluentdLog, type LogAddress, type RemoteLog, type SyslogFormat, type SyslogTls } from '@ctr/runtime';
import { dockerfileModule } from './lazy-modules';
import { checkLogAttributeOptions, LOG_ATTRIBUTE_OPTIONS, logAttributes, renderTag, type LogSource } from './log-details';

/** `--log-driver` / `--log-opt`, Docker's `HostConfig.LogConfig`. */
export interface LogConfig {
  /**
   * `json-file` (default), `local` or `k8s-file`: all mean ctr's log files here; `none` keeps no
   * log; `syslog`, `gelf` and `fluentd` send it away, with a local cache for `logs` as Docker's;
   * any other name is a logging plugin's (`plugins/log-driver.ts`).
   */
  driver?: string;
  /** `max-size` (`10m`), `max-file` and `compress`; json-file's attribute options too (`labels`, `labels-regex`, `env`, `env-regex`, `tag`). */
  options?: Record<string, string>;
}

/** What a container's log settings ask of the runtime (its `logSizeMax`, `logMaxFiles`, `logCompress`). */
export interface LogSettings {
  logSizeMax?: string;
  logMaxFiles?: number;
  logCompress?: boolean;
  noLog?: boolean;
  /** A remote driver, its options checked: `remoteLog` makes the runtime's settings once the container is known. */
  remote?: RemoteLogRequest;
  warnings: string[];
}

export interface RemoteLogRequest {
  /** A built-in remote driver, or a logging plugin's name (`plugin`). */
  driver: string;
  /** `driver` is no built-in one: a logging plugin's name (`plugins/log-driver.ts`), looked up at create. */
  plugin?: true;
  /** The driver's own options; a plugin's, every option given. */
  options: Readonly<Record<string, string>>;
  /** A local cache is kept for `logs` (Docker's dual logging): not with `cache-disabled=true`. */
  cache: boolean;
  /** `mode=non-blocking`: the bytes of messages kept for the destination while it does not take them. */
  maxBuffer?: number;
}

/** moby's ring buffer when `max-buffer-size` is not given: 1e6 bytes (not 1 MiB). */
const DEFAULT_MAX_BUFFER = 1e6;

/** `max-buffer-size`, read as moby's units.RAMInBytes reads it, with its error wrapped in dockerd's words. */
function maxBufferSize(value: string | undefined): number {
  if (value === undefined) return DEFAULT_MAX_BUFFER;
  try {
    return parseBytes(value, 'max-buffer-size');
  } catch (error) {
    const { message, hint } = error as CtrError;
    throw invalidArgument(`error parsing option max-buffer-size: ${message}`, hint ? { hint } : {});
  }
}

type RemoteDriver = 'syslog' | 'gelf' | 'fluentd';

/** The options each driver takes, as moby's json-file and local drivers validate theirs (k8s-file is json-file's here). */
const ROTATION = ['max-size', 'max-file', 'compress'];
const JSON_FILE_OPTIONS: ReadonlySet<string> = new Set([...ROTATION, ...LOG_ATTRIBUTE_OPTIONS]);
const DRIVER_OPTIONS = new Map<string, ReadonlySet<string>>([
  ['', JSON_FILE_OPTIONS],
  ['json-file', JSON_FILE_OPTIONS],
  ['k8s-file', JSON_FILE_OPTIONS],
  ['local', new Set(ROTATION)],
]);

/** moby's local driver rotates unless told otherwise: 20 MB files, five of them, gzipped. */
const LOCAL_DEFAULTS: Readonly<Record<string, string>> = { 'max-size': '20m', 'max-file': '5', compress: 'true' };

/** Go's strconv.ParseBool, which moby parses `compress` with, refusing in Go's words. */
function parseBool(key: string, value: string): boolean {
  const parsed = goParseBool(value);
  if (parsed !== undefined) return parsed;
  throw invalidArgument(`strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`, { hint: `${key} takes true or false` });
}

/**
 * What a container's log settings ask of the runtime: the file size, how many files the log
 * keeps (`max-file`: older ones are rotated to `.1`, `.2`…) and whether those are gzipped, with
 * moby's checks and words.
 */
export function logSettings(log: LogConfig | undefined): LogSettings {
  const driver = log?.driver ?? '';
  // moby's ValidateLogOpts takes any options for `none`, which has nothing to apply them to.
  if (driver === 'none') return { noLog: true, warnings: [] };
  if (isRemote(driver)) return remoteLogSettings(driver, log?.options ?? {});
  const known = DRIVER_OPTIONS.get(driver);
  // Any other name is a logging plugin's, as dockerd's log driver factory falls back to plugins.
  if (!known) return remoteLogSettings(driver, log?.options ?? {});
  const given = log?.options ?? {};
  for (const key of Object.keys(given)) {
    if (!known.has(key)) throw invalidArgument(`unknown log opt '${key}' for ${driver || 'json-file'} log driver`);
  }
  checkLogAttributeOptions(given);
  const options = driver === 'local' ? { ...LOCAL_DEFAULTS, ...given } : given;
  const maxSize = options['max-size'] === '-1' ? undefined : options['max-size'];
  const maxFile = options['max-file'];
  let files = 1;
  if (maxFile !== undefined) {
    if (!/^-?\d+$/.test(maxFile)) throw invalidArgument(`strconv.Atoi: parsing ${JSON.stringify(maxFile)}: invalid syntax`, { hint: 'max-file takes a whole number' });
    files = Number(maxFile);
    if (files < 1) throw invalidArgument('max-file cannot be less than 1');
  }
  const compress = options.compress !== undefined && parseBool('compress', options.compress);
  if (compress && (files === 1 || maxSize === undefined)) {
    throw invalidArgument(
      driver === 'local' ? `compression cannot be enabled when max file count is ${files}` : 'compress cannot be true when max-file is less than 2 or max-size is not set',
    );
  }
  return {
    ...(maxSize !== undefined ? { logSizeMax: maxSize } : {}),
    ...(maxSize !== undefined && files > 1 ? { logMaxFiles: files } : {}),
    ...(compress ? { logCompress: true } : {}),
    warnings: [],
  };
}

function isRemote(driver: string): driver is RemoteDriver {
  return driver === 'syslog' || driver === 'gelf' || driver === 'fluentd';
}

/** Whether `logs` can read a container's log: not without a log, nor a remote driver's without its cache. */
export function logsReadable(log: { Type: string; Config: Readonly<Record<string, string>> }): boolean {
  if (log.Type === 'none') return false;
  return !isRemote(log.Type) || cacheEnabled(log.Config);
}

function cacheEnabled(options: Readonly<Record<string, string>>): boolean {
  const disabled = options['cache-disabled'];
  return disabled === undefined || disabled === '' || !parseBool('cache-disabled', disabled);
}

/** The options every driver takes (moby's built-in ones: the delivery mode, the local cache's). */
const CACHE_PREFIX = 'cache-';
const BUILT_IN = new Set(['mode', 'max-buffer-size', 'cache-disabled', ...ROTATION.map((key) => CACHE_PREFIX + key)]);

/**
 * A remote driver's options, checked as dockerd's ValidateLogOpts does (the built-in ones, then
 * the driver's own, in moby's words), and its local cache: moby's local driver's (20 MB files,
 * five of them, gzipped) with the `cache-` options, unless `cache-disabled`.
 */
function remoteLogSettings(driver: string, options: Readonly<Record<string, string>>): LogSettings {
  const mode = options.mode ?? '';
  if (!['', 'blocking', 'non-blocking'].includes(mode)) throw invalidArgument(`logger: logging mode not supported: ${mode}`);
  if (options['max-buffer-size'] !== undefined && mode !== 'non-blocking') throw invalidArgument("logger: max-buffer-size option is only supported with 'mode=non-blocking'");
  const maxBuffer = mode === 'non-blocking' ? maxBufferSize(options['max-buffer-size']) : undefined;
  const disabled = options['cache-disabled'];
  if (disabled !== undefined && disabled !== '' && goParseBool(disabled) === undefined) {
    throw invalidArgument(`invalid value for option cache-disabled: ${disabled}`);
  }
  const own = Object.fromEntries(Object.entries(options).filter(([key]) => !BUILT_IN.has(key)));
  // A plugin's options are its own to check: dockerd has no validator for them.
  if (isRemote(driver)) {
    CHECKS[driver](own);
    checkLogAttributeOptions(own);
  }
  const cache = cacheEnabled(options);
  const cacheOptions = Object.fromEntries(
    Object.entries(options)
      .filter(([key]) => key.startsWith(CACHE_PREFIX) && key !== 'cache-disabled')
      .map(([key, value]) => [key.slice(CACHE_PREFIX.length), value]),
  );
  const files = cache ? logSettings({ driver: 'local', options: cacheOptions }) : { warnings: [] };
  // A plugin is told every option (moby's Info.Config is the whole LogConfig.Config).
  const told = isRemote(driver) ? { options: own } : { options, plugin: true as const };
  return { ...files, remote: { driver, cache, ...(maxBuffer !== undefined ? { maxBuffer } : {}), ...told } };
}

/** Go's url.Parse as far as the drivers read it: scheme, host (with its port, as URL.Host) and path; hostname and port as URL.Hostname() and URL.Port(). */
interface GoUrl {
  scheme: string;
  host: string;
  hostname: string;
  port: string;
  path: string;
}

function goUrl(address: string): GoUrl {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(?:\/\/([^/?#]*))?([^?#]*)/.exec(address);
  if (!m) return { scheme: '', host: '', hostname: '', port: '', path: address };
  const host = m[2] ?? '';
  const fail = (why: string): CtrError => invalidArgument(`parse ${JSON.stringify(address)}: ${why}`);
  // Go's parseHost: a bracketed IPv6 literal's port follows its bracket, any other's the last colon.
  const bracket = host.startsWith('[') ? host.lastIndexOf(']') : 0;
  if (bracket < 0) throw fail("missing ']' in host");
  const colon = host.lastIndexOf(':');
  const colonPort = host.startsWith('[') ? host.slice(bracket + 1) : colon >= 0 ? host.slice(colon) : '';
  if (!/^(:\d*)?$/.test(colonPort)) throw fail(`invalid port ${JSON.stringify(colonPort)} after host`);
  const split = colon >= 0 && /^:\d*$/.test(host.slice(colon));
  const hostname = (split ? host.slice(0, colon) : host).replace(/^\[(.*)\]$/, '$1');
  return { scheme: (m[1] as string).toLowerCase(), host, hostname, port: split ? host.slice(colon + 1) : '', path: m[3] ?? '' };
}

/** Go's net.SplitHostPort's check, in its words (the drivers read its error). */
function splitHostPortError(hostport: string): string | undefined {
  const why = (text: string): string => `address ${hostport}: ${text}`;
  const last = hostport.lastIndexOf(':');
  if (last < 0) return why('missing port in address');
  let from = 0;
  let after = 0;
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    if (end < 0) return why("missing ']' in address");
    if (end + 1 === hostport.length) return why('missing port in address');
    if (end + 1 !== last) return why(hostport[end + 1] === ':' ? 'too many colons in address' : 'missing port in address');
    [from, after] = [1, end + 1];
  } else if (hostport.slice(0, last).includes(':')) {
    return why('too many colons in address');
  }
  if (hostport.slice(from).includes('[')) return why("unexpected '[' in address");
  if (hostport.slice(after).includes(']')) return why("unexpected ']' in address");
  return undefined;
}

/** Go's net.JoinHostPort. */
function joinHostPort(host: string, port: string | number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** moby's syslog facilities; a number from 0 to 23 is one too. */
const FACILITIES = ['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp'];

function syslogFacility(name: string | undefined): number {
  if (!name) return 3 << 3;
  const known = FACILITIES.indexOf(name);
  if (known >= 0) return known << 3;
  const local = /^local([0-7])$/.exec(name);
  if (local) return (16 + Number(local[1])) << 3;
  if (/^[+-]?\d+$/.test(name) && Number(name) >= 0 && Number(name) <= 23) return Number(name) << 3;
  throw invalidArgument('invalid syslog facility');
}

function syslogAddress(address: string | undefined): LogAddress | undefined {
  if (!address) return undefined;
  const url = goUrl(address);
  switch (url.scheme) {
    case 'unix':
    case 'unixgram':
      // moby stats the socket when the container is made.
      try {
        statSync(url.path);
      } catch (error) {
        throw invalidArgument(`stat ${url.path}: ${goErrnoWords(error)}`);
      }
      return { network: url.scheme, address: url.path };
    case 'udp':
    case 'tcp':
    case 'tcp+tls': {
      const bad = splitHostPortError(url.host);
      // moby joins the default port to the host as written, which doubles an IPv6 literal's
      // brackets (`[[::1]]:514`, never dialled); the bare address is joined here.
      if (bad?.endsWith('missing port in address')) return { network: url.scheme === 'udp' ? 'udp' : 'tcp', address: joinHostPort(url.hostname, 514) };
      if (bad) throw invalidArgument(bad);
      return { network: url.scheme === 'udp' ? 'udp' : 'tcp', address: url.host };
    }
    default:
      throw invalidArgument(`unsupported scheme: '${url.scheme}'`);
  }
}

/**
 * syslog over TLS (`tcp+tls://`): the files as given (read when the container starts, as moby
 * reads them when its driver starts). moby skips verification whenever syslog-tls-skip-verify
 * is given, even `false`; here a false value (Go's ParseBool spellings) keeps it, as Docker's
 * documentation describes the option.
 */
function syslogTls(options: Readonly<Record<string, string>>): SyslogTls | undefined {
  if (goUrl(options['syslog-address'] ?? '').scheme !== 'tcp+tls') return undefined;
  const skip = options['syslog-tls-skip-verify'];
  return {
    caCert: options['syslog-tls-ca-cert'] ?? '',
    cert: options['syslog-tls-cert'] ?? '',
    key: options['syslog-tls-key'] ?? '',
    skipVerify: skip !== undefined && goParseBool(skip) !== false,
  };
}

const SYSLOG_FORMATS: readonly string[] = ['', 'rfc3164', 'rfc5424', 'rfc5424micro'];

function checkSyslog(options: Readonly<Record<string, string>>): void {
  const known = ['syslog-address', 'syslog-facility', 'syslog-format', 'syslog-tls-ca-cert', 'syslog-tls-cert', 'syslog-tls-key', 'syslog-tls-skip-verify', 'tag', ...LOG_ATTRIBUTE_OPTIONS];
  for (const key of Object.keys(options)) if (!known.includes(key)) throw invalidArgument(`unknown log opt '${key}' for syslog log driver`);
  syslogAddress(options['syslog-address']);
  syslogFacility(options['syslog-facility']);
  if (!SYSLOG_FORMATS.includes(options['syslog-format'] ?? '')) throw invalidArgument('Invalid syslog format');
}

function gelfAddress(address: string | undefined): LogAddress {
  if (!address) throw invalidArgument('gelf-address is a required parameter');
  const url = goUrl(address);
  if (url.scheme !== 'udp' && url.scheme !== 'tcp') throw invalidArgument('gelf: endpoint needs to be TCP or UDP');
  if (splitHostPortError(url.host)) throw invalidArgument('gelf: please provide gelf-address as proto://host:port');
  return { network: url.scheme, address: url.host };
}

function checkGelf(options: Readonly<Record<string, string>>): void {
  const { network } = gelfAddress(options['gelf-address']);
  for (const [key, value] of Object.entries(options)) {
    switch (key) {
      case 'gelf-address':
      case 'tag':
      case 'labels':
      case 'labels-regex':
      case 'env':
      case 'env-regex':
        break;
      case 'gelf-compression-level':
        if (network !== 'udp') throw invalidArgument('compression is only supported on UDP');
        if (!/^[+-]?\d+$/.test(value) || Number(value) < -1 || Number(value) > 9) throw invalidArgument(`unknown value ${JSON.stringify(value)} for log opt ${JSON.stringify(key)} for gelf log driver`);
        break;
      case 'gelf-compression-type':
        if (network !== 'udp') throw invalidArgument('compression is only supported on UDP');
        if (!['gzip', 'zlib', 'none'].includes(value)) throw invalidArgument(`unknown value ${JSON.stringify(value)} for log opt ${JSON.stringify(key)} for gelf log driver`);
        break;
      case 'gelf-tcp-max-reconnect':
      case 'gelf-tcp-reconnect-delay':
        if (network !== 'tcp') throw invalidArgument(`${JSON.stringify(key)} is only valid for TCP`);
        if (!/^[+-]?\d+$/.test(value) || Number(value) < 0) throw invalidArgument(`${JSON.stringify(key)} must be a positive integer`);
        break;
      default:
        throw invalidArgument(`unknown log opt ${JSON.stringify(key)} for gelf log driver`);
    }
  }
}

const FLUENTD_OPTIONS = [
  'tag',
  ...LOG_ATTRIBUTE_OPTIONS,
  'fluentd-address',
  'fluentd-async',
  'fluentd-async-connect',
  'fluentd-async-reconnect-interval',
  'fluentd-buffer-limit',
  'fluentd-max-retries',
  'fluentd-request-ack',
  'fluentd-retry-wait',
  'fluentd-sub-second-precision',
  'fluentd-write-timeout',
];

function fluentdAddress(address: string | undefined): LogAddress {
  if (!address) return { network: 'tcp', address: '127.0.0.1:24224' };
  const invalid = (why: string): CtrError => invalidArgument(`invalid fluentd-address (${address}): ${why}`);
  let url: GoUrl;
  try {
    url = goUrl(address.includes('://') ? address : `tcp://${address}`);
  } catch (error) {
    throw invalid((error as Error).message);
  }
  if (url.scheme === 'unix') {
    if (url.path.replace(/^\/+/, '') === '') throw invalid('path is empty');
    return { network: 'unix', address: url.path };
  }
  if (url.scheme === 'tls') throw unsupported('fluentd over TLS (tls://) is not supported by ctr', { hint: 'use tcp:// or unix://' });
  if (url.scheme !== 'tcp') throw invalid(`unsupported scheme: '${url.scheme}'`);
  if (url.path !== '') throw invalid('should not contain a path element');
  if (url.port && Number(url.port) > 65535) throw invalid(`invalid port: strconv.ParseUint: parsing ${JSON.stringify(url.port)}: value out of range`);
  return { network: 'tcp', address: joinHostPort(url.hostname || '127.0.0.1', url.port || 24224) };
}

/** Go's time.ParseDuration, in milliseconds. */
function durationMs(key: string, value: string): number {
  try {
    return dockerfileModule().parseDuration(value) / 1e6;
  } catch {
    throw invalidArgument(`time: invalid duration ${JSON.stringify(value)}`, { hint: `${key} takes a duration such as 1s or 500ms` });
  }
}

type FluentdSettings = Pick<FluentdLog, 'address' | 'async' | 'subSecondPrecision' | 'bufferLimit' | 'retryWait' | 'maxRetries' | 'requestAck'>;

/**
 * fluentd's settings as moby's parseConfig reads them, with its checks. A zero buffer limit,
 * retry wait or retry count is fluent-logger's default (8192 messages, 500 ms, 13 tries), as
 * its New reads a zero.
 */
function fluentdSettings(options: Readonly<Record<string, string>>): FluentdSettings {
  const address = fluentdAddress(options['fluentd-address']);
  const bufferLimit = options['fluentd-buffer-limit'] ? parseBytes(options['fluentd-buffer-limit'], 'fluentd-buffer-limit') : 1024 * 1024;
  // moby's int(Seconds() * 1000): whole milliseconds.
  const retryWait = options['fluentd-retry-wait'] ? Math.trunc(durationMs('fluentd-retry-wait', options['fluentd-retry-wait'])) : 1000;
  const retries = options['fluentd-max-retries'];
  if (retries && !/^\d+$/.test(retries)) throw invalidArgument(`strconv.ParseUint: parsing ${JSON.stringify(retries)}: invalid syntax`);
  if (options['fluentd-async'] && options['fluentd-async-connect']) throw invalidArgument("conflicting options: cannot specify both 'fluentd-async' and 'fluentd-async-connect");
  const flag = (key: string): boolean => !!options[key] && parseBool(key, options[key] as string);
  const async = flag('fluentd-async') || flag('fluentd-async-connect');
  const interval = options['fluentd-async-reconnect-interval'];
  if (interval) {
    const ms = durationMs('fluentd-async-reconnect-interval', interval);
    if (ms !== 0 && (ms < 100 || ms > 10_000)) throw invalidArgument(`invalid value for fluentd-async-reconnect-interval: value (${JSON.stringify(interval)}) must be between 100ms and 10s`);
  }
  if (options['fluentd-write-timeout']) durationMs('fluentd-write-timeout', options['fluentd-write-timeout']);
  return {
    address,
    async,
    subSecondPrecision: flag('fluentd-sub-second-precision'),
    requestAck: flag('fluentd-request-ack'),
    bufferLimit: bufferLimit || 8192,
    retryWait: retryWait || 500,
    maxRetries: retries ? Number(retries) || 13 : 2 ** 31 - 1,
  };
}

function checkFluentd(options: Readonly<Record<string, string>>): void {
  for (const key of Object.keys(options)) if (!FLUENTD_OPTIONS.includes(key)) throw invalidArgument(`unknown log opt '${key}' for fluentd log driver`);
  fluentdSettings(options);
}

const CHECKS: Record<RemoteDriver, (options: Readonly<Record<string, string>>) => void> = { syslog: checkSyslog, gelf: checkGelf, fluentd: checkFluentd };

/**
 * What the runtime is given for a remote driver once the container is known: the destination
 * and what every message carries (the tag, moby's `{{.ID}}` unless `tag` says otherwise; the
 * container's facts; the `labels`/`env` attributes for gelf and fluentd).
 */
export function remoteLog(request: RemoteLogRequest, source: LogSource): RemoteLog {
  const { options, driver } = request;
  // A logging plugin's log is made where the plugin was looked up (plugins/log-driver.ts).
  if (!isRemote(driver)) throw invalidArgument(`logger: no log driver named '${driver}' is registered`);
  const kept = { cache: request.cache, ...(request.maxBuffer !== undefined ? { maxBuffer: request.maxBuffer } : {}) };
  const tag = renderTag(options.tag || '{{.ID}}', source);
  // The tag is the driver's own field, not one of the attributes json-file would add.
  const attributeOptions = { ...options, tag: '' };
  switch (driver) {
    case 'syslog': {
      const address = syslogAddress(options['syslog-address']);
      const tls = syslogTls(options);
      return { driver: 'syslog', ...(address ? { address } : {}), ...(tls ? { tls } : {}), facility: syslogFacility(options['syslog-facility']), format: (options['syslog-format'] ?? '') as SyslogFormat, tag, ...kept };
    }
    case 'gelf': {
      const attrs = logAttributes(attributeOptions, source);
      const extra: Record<string, string> = {
        _container_id: source.id,
        _container_name: source.name,
        _image_id: source.imageId,
        _image_name: source.image,
        _command: [source.path, ...source.args].join(' '),
        _tag: tag,
      };
      for (const [key, value] of Object.entries(attrs)) extra[key.startsWith('_') ? key : `_${key}`] = value;
      return {
        driver: 'gelf',
        address: gelfAddress(options['gelf-address']),
        compression: (options['gelf-compression-type'] ?? 'gzip') as 'gzip' | 'zlib' | 'none',
        compressionLevel: options['gelf-compression-level'] ? Number(options['gelf-compression-level']) : 1,
        maxReconnect: options['gelf-tcp-max-reconnect'] ? Number(options['gelf-tcp-max-reconnect']) : 3,
        reconnectDelay: options['gelf-tcp-reconnect-delay'] ? Number(options['gelf-tcp-reconnect-delay']) : 1,
        extra,
        ...kept,
      };
    }
    case 'fluentd': {
      // moby's record: the name as dockerd keeps it, with its slash.
      const fields = { container_id: source.id, container_name: `/${source.name}`, ...logAttributes(attributeOptions, source) };
      return { driver: 'fluentd', tag, fields, ...fluentdSettings(options), ...kept };
    }
  }
}
