import { invalidArgument } from '@ctr/errors';
import type { MountSpec } from '@ctr/runtime';

/** One `-v` / `--volume` value, before volumes are looked up or made. */
export type VolumeRequest =
  | { kind: 'bind'; source: string; target: string; readOnly: boolean }
  | { kind: 'named'; name: string; target: string; readOnly: boolean }
  | { kind: 'anonymous'; target: string; readOnly: boolean };

/**
 * Parse `-v` like docker: `/host:/ctr[:ro]` binds a host path, `name:/ctr[:ro]` mounts a named
 * volume (made when missing), `/ctr` gets a fresh anonymous volume.
 */
export function parseVolumeSpec(spec: string): VolumeRequest {
  const parts = spec.split(':');
  const invalid = (): never => {
    throw invalidArgument(`invalid volume specification: '${spec}'`);
  };
  if (parts.some((p) => p === '') || parts.length > 3) invalid();
  let readOnly = false;
  if (parts.length === 3 || (parts.length === 2 && !(parts[1] as string).startsWith('/'))) {
    const mode = parts.pop() as string;
    for (const option of mode.split(',')) {
      if (option === 'ro') readOnly = true;
      else if (!['rw', 'z', 'Z', 'nocopy', 'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'].includes(option)) {
        throw invalidArgument(`invalid mode: ${mode}`, { hint: `in volume specification '${spec}'` });
      }
    }
  }
  const [first, second] = parts as [string, string | undefined];
  if (second === undefined) {
    if (!first.startsWith('/')) invalid();
    return { kind: 'anonymous', target: first, readOnly };
  }
  if (!second.startsWith('/')) {
    throw invalidArgument(`invalid volume specification: '${spec}': invalid mount config for type "volume": invalid mount path: '${second}' mount path must be absolute`);
  }
  if (first.startsWith('/') || first.startsWith('.')) return { kind: 'bind', source: first, target: second, readOnly };
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(first)) {
    throw invalidArgument(`create ${first}: "${first}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  }
  return { kind: 'named', name: first, target: second, readOnly };
}

/** `--tmpfs /run:size=64m,mode=1777` */
export function parseTmpfsSpec(spec: string): MountSpec {
  const colon = spec.indexOf(':');
  const target = colon === -1 ? spec : spec.slice(0, colon);
  if (!target.startsWith('/')) throw invalidArgument(`invalid tmpfs specification: '${spec}': mount path must be absolute`);
  const mount: MountSpec = { type: 'tmpfs', target };
  for (const option of colon === -1 ? [] : spec.slice(colon + 1).split(',')) {
    const [key, value] = option.split('=') as [string, string | undefined];
    if (key === 'size' && value) mount.size = value;
    else if (key === 'mode' && value) mount.mode = parseInt(value, 8);
    else if (key === 'ro') mount.readOnly = true;
  }
  return mount;
}

/** Docker's API `Mount`, what `--mount` says and `HostConfig.Mounts` holds (the fields ctr serves). */
export interface ApiMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  /** `Mode` is the permission bits as a number, as the API has it. */
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

/**
 * A `Mount` as the `-v` or `--tmpfs` entry that means the same, so the CLI's `--mount` and the
 * API's `Mounts` make one container; refused as dockerd refuses it.
 */
export function mountEntry(mount: ApiMount): { volume: string } | { tmpfs: string } {
  const type = mount.Type || 'volume';
  const target = mount.Target;
  if (!target) throw invalidArgument('invalid mount config: Target is required');
  const source = mount.Source ?? '';
  const ro = mount.ReadOnly ? ':ro' : '';
  switch (type) {
    case 'bind':
      if (!source) throw invalidArgument('invalid mount config for type "bind": field Source must not be empty');
      // A relative source would read as a volume name in a `-v` entry.
      if (!source.startsWith('/')) throw invalidArgument(`invalid mount config for type "bind": invalid mount path: '${source}' mount path must be absolute`);
      return { volume: `${source}:${target}${ro}` };
    case 'volume':
      return { volume: source ? `${source}:${target}${ro}` : `${target}${ro}` };
    case 'tmpfs': {
      const { SizeBytes, Mode } = mount.TmpfsOptions ?? {};
      const options = [...(SizeBytes ? [`size=${SizeBytes}`] : []), ...(Mode ? [`mode=${Mode.toString(8)}`] : []), ...(mount.ReadOnly ? ['ro'] : [])];
      return { tmpfs: options.length > 0 ? `${target}:${options.join(',')}` : target };
    }
    default:
      throw invalidArgument(`invalid mount config: mount type unknown: ${JSON.stringify(type)}`);
  }
}
