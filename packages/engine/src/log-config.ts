import { CtrError, invalidArgument } from '@ctr/errors';
import { checkLogAttributeOptions, LOG_ATTRIBUTE_OPTIONS } from './log-details';

/** `--log-driver` / `--log-opt`, Docker's `HostConfig.LogConfig`. */
export interface LogConfig {
  /** `json-file` (default), `local` or `k8s-file`: all mean conmon's log file here. */
  driver?: string;
  /** `max-size` (`10m`) and `max-file`; json-file's attribute options too (`labels`, `labels-regex`, `env`, `env-regex`, `tag`). */
  options?: Record<string, string>;
}

/** The options each driver takes, as moby's json-file and local drivers validate theirs (k8s-file is json-file's here). */
const ROTATION = ['max-size', 'max-file'];
const JSON_FILE_OPTIONS: ReadonlySet<string> = new Set([...ROTATION, ...LOG_ATTRIBUTE_OPTIONS]);
const DRIVER_OPTIONS = new Map<string, ReadonlySet<string>>([
  ['', JSON_FILE_OPTIONS],
  ['json-file', JSON_FILE_OPTIONS],
  ['k8s-file', JSON_FILE_OPTIONS],
  ['local', new Set(ROTATION)],
]);

/**
 * What a container's log settings ask of the runtime. ctr keeps one log file per container
 * (conmon's, read by `logs`), so `max-file` above 1 cannot be honoured: it is accepted with a
 * warning, the way dockerd warns about settings it ignores.
 */
export function logSettings(log: LogConfig | undefined): { logSizeMax?: string; warnings: string[] } {
  const driver = log?.driver ?? '';
  const known = DRIVER_OPTIONS.get(driver);
  if (!known) {
    throw new CtrError('Unsupported', `logging driver "${driver}" is not supported by ctr`, { hint: 'use json-file (the default), local or k8s-file' });
  }
  const options = log?.options ?? {};
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw invalidArgument(`unknown log opt '${key}' for ${driver || 'json-file'} log driver`);
  }
  checkLogAttributeOptions(options);
  const warnings: string[] = [];
  const maxFile = options['max-file'];
  if (maxFile !== undefined) {
    if (!/^[1-9]\d*$/.test(maxFile)) throw invalidArgument(`invalid value for max-file: ${maxFile}: it must be a positive number`);
    if (maxFile !== '1') warnings.push(`ctr keeps one log file per container: max-file=${maxFile} is treated as 1`);
    if (options['max-size'] === undefined) throw invalidArgument('max-file cannot be set without max-size');
  }
  const maxSize = options['max-size'];
  return { ...(maxSize !== undefined && maxSize !== '-1' ? { logSizeMax: maxSize } : {}), warnings };
}
