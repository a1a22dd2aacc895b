import path from 'node:path';
import { invalidArgument } from '@ctr/errors';
import type { BindMount, MountSpec, TmpfsMount } from '@ctr/runtime';

type Propagation = NonNullable<BindMount['propagation']>;

/** What a local volume is made with when a mount names one that does not exist yet (`--mount`'s `volume-label`, `volume-opt`). */
export interface VolumeCreateOptions {
  labels?: Record<string, string>;
  options?: Record<string, string>;
  /** `--mount volume-driver=` / `--volume-driver`: the plugin that makes the volume when it is missing. */
  driver?: string;
}

interface MountPlace {
  /** Cleaned, as dockerd keeps a destination (`/data/` is `/data`). */
  target: string;
  readOnly: boolean;
  /** `-v`'s mode as given (`ro,z`), inspect's `Mode`; absent when none was. */
  mode?: string;
}

/** One `-v` / `--volume` value or `--mount` of a bind or volume, before volumes are looked up or made. */
export type VolumeRequest =
  | (MountPlace & {
      kind: 'bind';
      source: string;
      propagation?: Propagation;
      /** `--mount`'s binds need their source; `-v` makes a missing one, as dockerd does. */
      mustExist?: boolean;
    })
  | (MountPlace & {
      kind: 'named';
      name: string;
      /** Fill the volume from the image when it is empty (all but `nocopy`). */
      copy: boolean;
      /** `volume-subpath`: the directory of the volume mounted, relative, already found local. */
      subpath?: string;
      create?: VolumeCreateOptions;
    })
  | (MountPlace & { kind: 'anonymous'; copy: boolean; create?: VolumeCreateOptions });

const MOUNT_TYPES = ['bind', 'volume', 'tmpfs', 'image'] as const;
const PROPAGATIONS = ['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared'] as const;
const CONSISTENCIES = ['default', 'consistent', 'cached', 'delegated'] as const;

/** Docker's API `Mount`: what `--mount` says and `HostConfig.Mounts` holds, kept as given for inspect. */
export interface ApiMount {
  Type?: (typeof MOUNT_TYPES)[number];
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  /** Docker Desktop's; accepted and ignored on Linux, as dockerd does. */
  Consistency?: (typeof CONSISTENCIES)[number];
  BindOptions?: {
    Propagation?: Propagation;
    NonRecursive?: boolean;
    CreateMountpoint?: boolean;
    ReadOnlyNonRecursive?: boolean;
    ReadOnlyForceRecursive?: boolean;
  };
  VolumeOptions?: {
    NoCopy?: boolean;
    Labels?: Record<string, string>;
    Subpath?: string;
    DriverConfig?: { Name?: string; Options?: Record<string, string> };
  };
  /** `Mode` is the permission bits as a number, as the API has it. */
  TmpfsOptions?: { SizeBytes?: number; Mode?: number; Options?: string[][] };
}

/** A `Mount` as a client sends it: strings where the API has enumerations (`apiMount` checks them). */
export type ClientMount = Omit<ApiMount, 'Type' | 'Consistency' | 'BindOptions'> & {
  Type?: string;
  Consistency?: string;
  BindOptions?: Omit<NonNullable<ApiMount['BindOptions']>, 'Propagation'> & { Propagation?: string };
};

function isOneOf<T extends string>(values: readonly T[], value: string): value is T {
  return (values as readonly string[]).includes(value);
}

/**
 * A client's `Mount` as the API's, its type and propagation refused in dockerd's words when
 * unknown. A consistency (Docker Desktop's, which dockerd on Linux ignores) that is none of the
 * API's is dropped. Everything else is checked when a container is made with it.
 */
export function apiMount(mount: ClientMount): ApiMount {
  const { Type, Consistency, BindOptions, ...rest } = mount;
  const type = Type ?? '';
  if (!isOneOf(MOUNT_TYPES, type)) throw invalidArgument(`invalid mount config for type "${type}": mount type unknown`);
  const { Propagation, ...bindRest } = BindOptions ?? {};
  const propagation = Propagation || undefined;
  if (propagation !== undefined && !isOneOf(PROPAGATIONS, propagation)) throw invalidArgument(`invalid mount config for type "${type}": invalid propagation mode: ${propagation}`);
  return {
    Type: type,
    ...rest,
    ...(Consistency && isOneOf(CONSISTENCIES, Consistency) ? { Consistency } : {}),
    ...(BindOptions ? { BindOptions: { ...(propagation !== undefined ? { Propagation: propagation } : {}), ...bindRest } } : {}),
  };
}

/**
 * The families of `-v` modes dockerd's Linux parser knows (volume/mounts/linux_parser.go); a
 * mode may name at most one of each. The label modes are SELinux relabelling and the
 * consistency modes Docker Desktop's: both accepted and, as on a Linux host without SELinux,
 * without effect.
 */
const MODE_FAMILIES: ReadonlyArray<readonly string[]> = [['rw', 'ro'], ['z', 'Z'], PROPAGATIONS, ['nocopy'], ['consistent', 'cached', 'delegated']];

/** dockerd's `linuxValidMountMode`: every option known, no family twice. The empty mode is valid. */
function validMode(mode: string): boolean {
  if (mode === '') return true;
  const counts = new Map<readonly string[], number>();
  for (const option of mode.split(',')) {
    const family = MODE_FAMILIES.find((f) => f.includes(option));
    if (!family) return false;
    counts.set(family, (counts.get(family) ?? 0) + 1);
  }
  return [...counts.values()].every((n) => n === 1);
}

/**
 * A local volume's name as dockerd's local driver checks it, when a mount makes the volume: a
 * plugin's volume may be called anything (`user@host:/path`), and one that exists is used as it is.
 */
export function checkLocalVolumeName(name: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) {
    throw invalidArgument(`create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  }
}

/** Go's `filepath.IsLocal`, which dockerd asks of a subpath: relative, not empty, never above its base. */
function isLocal(p: string): boolean {
  if (p === '' || p.startsWith('/') || p.includes('\0')) return false;
  const clean = path.posix.normalize(p);
  return clean !== '..' && !clean.startsWith('../');
}

/**
 * dockerd's `validateMountConfig` for Linux, in its words (`invalid mount config for type
 * "bind": field Source must not be empty`). Whether a bind's source exists is the caller's
 * to check, on the host, when it asks for that.
 */
function checkMountConfig(mount: ApiMount): void {
  const type = mount.Type ?? '';
  const fail = (message: string): never => {
    throw invalidArgument(`invalid mount config for type "${type}": ${message}`);
  };
  const target = mount.Target ?? '';
  if (target === '') fail('field Target must not be empty');
  if (path.posix.normalize(target.replace(/\\/g, '/')) === '/') fail("invalid specification: destination can't be '/'");
  if (!target.startsWith('/')) fail(`invalid mount path: '${target}' mount path must be absolute`);
  const source = mount.Source ?? '';
  switch (type) {
    case 'bind': {
      if (source === '') fail('field Source must not be empty');
      const propagation = mount.BindOptions?.Propagation;
      if (propagation && !isOneOf(PROPAGATIONS, propagation)) fail(`invalid propagation mode: ${propagation}`);
      if (mount.VolumeOptions) fail('field VolumeOptions must not be specified');
      if (!source.startsWith('/')) fail(`invalid mount path: '${source}' mount path must be absolute`);
      return;
    }
    case 'volume': {
      if (mount.BindOptions) fail('field BindOptions must not be specified');
      const subpath = mount.VolumeOptions?.Subpath;
      if (subpath) {
        if (source === '') fail('must not set Subpath when using anonymous volumes');
        if (!isLocal(subpath)) fail('subpath must be a relative path within the volume');
      }
      if (mount.ReadOnly && source === '') fail('must not set ReadOnly mode when using anonymous volumes');
      return;
    }
    case 'tmpfs':
      if (mount.BindOptions) fail('field BindOptions must not be specified');
      if (source !== '') fail('field Source must not be specified');
      for (const option of mount.TmpfsOptions?.Options ?? []) {
        if (option.length < 1 || option.length > 2) fail('invalid option array length');
        if (option[0] !== 'exec' && option[0] !== 'noexec') fail(`invalid option: ${option[0] ?? ''}`);
      }
      return;
    case 'image':
      fail('ctr has no image mounts');
      return;
    default:
      fail('mount type unknown');
  }
}

/** Whether `driver` names a volume plugin rather than the store's own local driver. */
export function isPluginDriver(driver: string | undefined): driver is string {
  return driver !== undefined && driver !== '' && driver !== 'local';
}

/**
 * `--volume-driver` (HostConfig.VolumeDriver): the driver a `-v` volume is made with when it
 * is missing, as dockerd's ParseMountRaw takes it; binds have none.
 */
export function withVolumeDriver(request: VolumeRequest, driver: string | undefined): VolumeRequest {
  if (!driver || request.kind === 'bind' || request.create?.driver) return request;
  return { ...request, create: { ...request.create, driver } };
}

function createOptions(mount: ApiMount): { create?: VolumeCreateOptions } {
  const labels = mount.VolumeOptions?.Labels;
  const options = mount.VolumeOptions?.DriverConfig?.Options;
  const driver = mount.VolumeOptions?.DriverConfig?.Name;
  const create = {
    ...(labels && Object.keys(labels).length > 0 ? { labels } : {}),
    ...(options && Object.keys(options).length > 0 ? { options } : {}),
    ...(driver ? { driver } : {}),
  };
  return Object.keys(create).length > 0 ? { create } : {};
}

/** A mount destination as compared with another: `/data/`, `/data//` and `/data` are one place. */
export function mountDestination(target: string): string {
  return path.posix.normalize(target).replace(/(.)\/+$/, '$1');
}

/**
 * A validated `Mount` as what the engine makes of it: a bind or volume request, or a tmpfs
 * mount. `mode` is `-v`'s, for the requests `parseVolumeSpec` makes through here.
 */
function requestOf(mount: ApiMount, mode: string | undefined): VolumeRequest | TmpfsMount {
  checkMountConfig(mount);
  const target = mountDestination(mount.Target as string);
  const readOnly = mount.ReadOnly === true;
  const place: MountPlace = { target, readOnly, ...(mode ? { mode } : {}) };
  const source = mount.Source ?? '';
  switch (mount.Type) {
    case 'bind': {
      const propagation = mount.BindOptions?.Propagation as Propagation | undefined;
      return { kind: 'bind' as const, source: path.posix.normalize(source), ...place, ...(propagation ? { propagation } : {}) };
    }
    case 'volume': {
      const copy = mount.VolumeOptions?.NoCopy !== true;
      if (source === '') return { kind: 'anonymous' as const, ...place, copy, ...createOptions(mount) };
      // `a/b/` is `a/b`, and `.` the whole volume.
      const subpath = path.posix.normalize(mount.VolumeOptions?.Subpath || '.').replace(/\/+$/, '');
      return { kind: 'named' as const, name: source, ...place, copy, ...(subpath !== '.' ? { subpath } : {}), ...createOptions(mount) };
    }
    default: {
      const { SizeBytes, Mode, Options } = mount.TmpfsOptions ?? {};
      const options = (Options ?? []).map((option) => option.join('='));
      return {
        type: 'tmpfs',
        target,
        ...(SizeBytes ? { size: SizeBytes } : {}),
        ...(Mode ? { mode: Mode } : {}),
        ...(readOnly ? { readOnly } : {}),
        ...(options.length > 0 ? { options } : {}),
      };
    }
  }
}

/**
 * Parse `-v` as dockerd's Linux parser does (`ParseMountRaw`): `/host:/ctr[:mode]` binds a host
 * path, `name:/ctr[:mode]` mounts a named volume (made when missing), `/ctr` gets a fresh
 * anonymous volume. The mode is a comma list of at most one of each: `ro`/`rw`, `z`/`Z`, a
 * propagation, `nocopy`, `consistent`/`cached`/`delegated`. Like docker's CLI, `.` and `./dir`
 * are host paths from the current directory.
 */
export function parseVolumeSpec(spec: string): VolumeRequest {
  const invalid = (): never => {
    throw invalidArgument(`invalid volume specification: '${spec}'`);
  };
  const parts = splitN(spec, ':', 4);
  if (parts[0] === '') invalid();
  let [source, target, mode] = ['', parts[0] as string, ''];
  if (parts.length === 2) {
    // A destination and a mode is no volume: `/foo:rw`.
    if (validMode(parts[1] as string)) invalid();
    [source, target] = parts as [string, string];
  } else if (parts.length === 3) {
    [source, target, mode] = parts as [string, string, string];
  } else if (parts.length > 3) {
    invalid();
  }
  if (!validMode(mode)) throw invalidArgument(`invalid mode: ${mode}`);
  if (source === '.' || source.startsWith('./')) source = path.resolve(source);
  const options = mode.split(',');
  const propagation = options.find((o): o is Propagation => isOneOf(PROPAGATIONS, o));
  const mount: ApiMount = {
    Type: source.startsWith('/') ? 'bind' : 'volume',
    Source: source,
    Target: target,
    ReadOnly: options.includes('ro'),
    // As dockerd's parser: a copy mode or propagation given is an option of that kind, refused on the other kind of mount.
    ...(options.includes('nocopy') ? { VolumeOptions: { NoCopy: true } } : {}),
    ...(propagation ? { BindOptions: { Propagation: propagation } } : {}),
  };
  let request: VolumeRequest;
  try {
    request = requestOf(mount, mode) as VolumeRequest;
  } catch (error) {
    throw invalidArgument(`invalid volume specification: '${spec}': ${(error as Error).message}`);
  }
  return request;
}

/** Go's `strings.SplitN`. */
function splitN(text: string, separator: string, n: number): string[] {
  const parts = text.split(separator);
  return parts.length <= n ? parts : [...parts.slice(0, n - 1), parts.slice(n - 1).join(separator)];
}

/**
 * A `--mount` / `HostConfig.Mounts` entry as the engine's request, checked as dockerd checks
 * it (`invalid mount config for type "volume": …`). A bind's source must exist (the caller
 * looks), unless `BindOptions.CreateMountpoint` asks for it to be made.
 */
export function mountRequest(mount: ApiMount): VolumeRequest | TmpfsMount {
  const request = requestOf(mount, undefined);
  if ('kind' in request && request.kind === 'bind' && mount.BindOptions?.CreateMountpoint !== true) return { ...request, mustExist: true };
  return request;
}

/**
 * `--tmpfs /run:size=64m,mode=1777,exec`: the size, mode and `ro`/`rw` as such, the other
 * options as given, for the runtime to apply over dockerd's defaults (and to refuse).
 */
export function parseTmpfsSpec(spec: string): TmpfsMount {
  const colon = spec.indexOf(':');
  const target = colon === -1 ? spec : spec.slice(0, colon);
  if (!target.startsWith('/')) throw invalidArgument(`invalid tmpfs specification: '${spec}': mount path must be absolute`);
  const mount: TmpfsMount = { type: 'tmpfs', target };
  const data = colon === -1 ? '' : spec.slice(colon + 1);
  const options: string[] = [];
  for (const option of data === '' ? [] : data.split(',')) {
    const [key, value] = option.split('=') as [string, string | undefined];
    if (key === 'size' && value) mount.size = value;
    else if (key === 'mode' && value) mount.mode = parseInt(value, 8);
    else if (option === 'ro' || option === 'rw') mount.readOnly = option === 'ro';
    else options.push(option);
  }
  if (options.length > 0) mount.options = options;
  return mount;
}

/**
 * dockerd's refusal of two mounts at one place: among binds, named volumes and `--mount`s,
 * and of one of those where a `--tmpfs` is (anonymous `-v /path` volumes give way instead).
 */
export function checkDuplicateMounts(requests: readonly VolumeRequest[], tmpfs: readonly MountSpec[]): void {
  const seen = new Set(tmpfs.map((m) => mountDestination(m.target)));
  for (const request of requests) {
    if (request.kind === 'anonymous') continue;
    if (seen.has(request.target)) throw invalidArgument(`Duplicate mount point: ${request.target}`);
    seen.add(request.target);
  }
}

/**
 * The directory of the volume a mount with a `subpath` shows part of: its source is the
 * volume's directory joined with the subpath (normalised, as it was recorded).
 */
export function volumeDirOf(mount: { source: string; subpath?: string }): string {
  return mount.subpath ? mount.source.slice(0, -(mount.subpath.length + 1)) : mount.source;
}
