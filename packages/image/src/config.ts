import { invalidArgument } from '@ctr/errors';
import { checkDigest } from './descriptor-parse';
import type { Digest, DiffID } from './digest';
import { MAX_DOCUMENT_BYTES, parseJsonObject } from './json';
import { isDateTime, isEnvEntry } from './formats';
import { JsonFields } from './json-fields';

/** How Docker checks a container: `HEALTHCHECK` in a Dockerfile. Durations in nanoseconds. */
export interface HealthConfig {
  /** `[]` inherit, `["NONE"]` disabled, `["CMD", …]` exec, `["CMD-SHELL", "…"]` shell. */
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The runtime defaults an image carries (`config` in the image config). */
export interface ContainerConfig {
  User?: string;
  /** Keys like `80/tcp`; values are empty objects (a set). */
  ExposedPorts?: Record<string, Record<string, never>>;
  /** `KEY=value` entries. */
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Healthcheck?: HealthConfig;
  Shell?: string[];
  OnBuild?: string[];
}

/** One step that made the image, base first; `empty_layer` steps added no layer. */
export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface RootFS {
  type: 'layers';
  /** Uncompressed layer digests, base first. */
  diff_ids: DiffID[];
}

/** The image config (`application/vnd.oci.image.config.v1+json`, Docker's `…container.image.v1+json`). */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  config?: ContainerConfig;
  rootfs: RootFS;
  history?: HistoryEntry[];
  /** Docker's own: the engine version that built it. */
  docker_version?: string;
}


const WHAT = 'image config';

/**
 * Parse and validate an image config. Go's `null` for empty lists and maps reads as absent.
 * Throws InvalidArgument naming the field when a member has the wrong type or a digest or
 * Env entry is malformed. What the values mean (is a volume path safe, a port valid) is
 * for whoever acts on them — Docker pulls such images, and refuses them at `run`.
 */
export function parseImageConfig(bytes: Uint8Array | string): ImageConfig {
  const fields = new JsonFields(parseJsonObject(bytes, { what: WHAT, maxBytes: MAX_DOCUMENT_BYTES }), WHAT);
  const config: ImageConfig = {
    architecture: fields.string('architecture'),
    os: fields.string('os'),
    rootfs: parseRootFs(fields.object('rootfs')),
  };
  const created = readDateTime(fields, 'created');
  if (created !== undefined) config.created = created;
  assign(config, 'author', fields.optionalString('author'));
  assign(config, 'os.version', fields.optionalString('os.version'));
  assign(config, 'os.features', fields.optionalStringArray('os.features'));
  const variant = fields.optionalString('variant');
  if (variant !== undefined && variant !== '') config.variant = variant;
  const container = fields.optionalObject('config');
  if (container !== undefined) config.config = parseContainerConfig(container);
  if (fields.optionalArray('history') !== undefined) config.history = fields.objects('history').map(parseHistoryEntry);
  assign(config, 'docker_version', fields.optionalString('docker_version'));
  return config;
}

function parseRootFs(fields: JsonFields): RootFS {
  const type = fields.string('type');
  if (type !== 'layers') throw fields.error('type', `must be "layers", got "${type}"`);
  const ids = fields.optionalStringArray('diff_ids');
  if (ids === undefined) throw fields.error('diff_ids', 'is required');
  const diffIds = ids.map((id, i) => checkDigest(id, fields.what, `${fields.fieldPath('diff_ids')}[${i}]`));
  return { type: 'layers', diff_ids: diffIds.map((id) => id as string as DiffID) };
}

function parseContainerConfig(fields: JsonFields): ContainerConfig {
  const out: ContainerConfig = {};
  assign(out, 'User', fields.optionalString('User'));
  assign(out, 'ExposedPorts', fields.optionalKeySet('ExposedPorts'));
  const env = fields.optionalStringArray('Env');
  env?.forEach((entry, i) => {
    if (!isEnvEntry(entry)) throw fields.error(`Env[${i}]`, `"${entry}" is not of the form KEY=value`);
  });
  assign(out, 'Env', env);
  assign(out, 'Entrypoint', fields.optionalStringArray('Entrypoint'));
  assign(out, 'Cmd', fields.optionalStringArray('Cmd'));
  assign(out, 'Volumes', fields.optionalKeySet('Volumes'));
  assign(out, 'WorkingDir', fields.optionalString('WorkingDir'));
  assign(out, 'Labels', fields.optionalStringMap('Labels'));
  assign(out, 'StopSignal', fields.optionalString('StopSignal'));
  assign(out, 'ArgsEscaped', fields.optionalBoolean('ArgsEscaped'));
  const health = fields.optionalObject('Healthcheck');
  if (health !== undefined) out.Healthcheck = parseHealthConfig(health);
  assign(out, 'Shell', fields.optionalStringArray('Shell'));
  assign(out, 'OnBuild', fields.optionalStringArray('OnBuild'));
  return out;
}

function parseHealthConfig(fields: JsonFields): HealthConfig {
  const out: HealthConfig = {};
  assign(out, 'Test', fields.optionalStringArray('Test'));
  for (const key of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
    assign(out, key, fields.optionalInteger(key, 0));
  }
  return out;
}

function parseHistoryEntry(fields: JsonFields): HistoryEntry {
  const out: HistoryEntry = {};
  assign(out, 'created', readDateTime(fields, 'created'));
  assign(out, 'created_by', fields.optionalString('created_by'));
  assign(out, 'author', fields.optionalString('author'));
  assign(out, 'comment', fields.optionalString('comment'));
  assign(out, 'empty_layer', fields.optionalBoolean('empty_layer'));
  return out;
}

function readDateTime(fields: JsonFields, key: string): string | undefined {
  const value = fields.optionalString(key);
  if (value !== undefined && !isDateTime(value)) {
    throw fields.error(key, `"${value}" is not an RFC 3339 date-time`);
  }
  return value;
}

/** Set an optional member only when it has a value, so absent stays absent. */
function assign<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

/** Docker's image ID is the digest of the image config. */
export function imageId(configDigest: Digest): Digest {
  return configDigest;
}

/** The layers of a config that are real (not `empty_layer`), checked against `rootfs.diff_ids`. */
export function layerHistory(config: ImageConfig): HistoryEntry[] {
  const layers = (config.history ?? []).filter((entry) => entry.empty_layer !== true);
  if (config.history !== undefined && layers.length !== config.rootfs.diff_ids.length) {
    throw invalidArgument(
      `image config lists ${layers.length} history entries with layers but ${config.rootfs.diff_ids.length} diff_ids`,
    );
  }
  return layers;
}
