import { CtrError, invalidArgument } from '@ctr/errors';
import { checkLogAttributeOptions, LOG_ATTRIBUTE_OPTIONS } from './log-details';

/** `--log-driver` / `--log-opt`, Docker's `HostConfig.LogConfig`. */
export interface LogConfig {
  /** `json-file` (default), `local` or `k8s-file`: all mean ctr's log files here; `none` keeps no log. */
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
  warnings: string[];
}

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

/** Go's strconv.ParseBool, which moby parses `compress` with. */
function parseBool(key: string, value: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
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
  const known = DRIVER_OPTIONS.get(driver);
  if (!known) {
    throw new CtrError('Unsupported', `logging driver "${driver}" is not supported by ctr`, { hint: 'use json-file (the default), local, k8s-file or none' });
  }
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
