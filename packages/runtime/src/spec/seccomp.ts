import os from 'node:os';
import { invalidArgument } from '@ctr/errors';
import { goJsonSyntaxError } from '@ctr/image';
import type { Seccomp, SeccompArg, SeccompRule } from '../oci-spec';
import type { RunOptions } from '../types';
import { exactInteger, parseExactJson, type ExactJson } from './exact-json';

/**
 * The system calls Docker's default profile blocks, from Docker's "Seccomp security
 * profiles" page ("Significant syscalls blocked by the default profile"), plus the new
 * mount API that page's reasoning covers. Written as a deny list over a default of
 * allow, so a syscall the list does not know keeps working; runc skips names the
 * running architecture does not have (vm86 on arm64, …).
 */
export const BLOCKED_SYSCALLS: readonly string[] = [
  'acct', 'add_key', 'bpf', 'clock_adjtime', 'clock_settime', 'create_module', 'delete_module',
  'finit_module', 'get_kernel_syms', 'get_mempolicy', 'init_module', 'ioperm', 'iopl', 'kcmp',
  'kexec_file_load', 'kexec_load', 'keyctl', 'lookup_dcookie', 'mbind', 'mount', 'move_pages',
  'name_to_handle_at', 'nfsservctl', 'open_by_handle_at', 'perf_event_open', 'pivot_root',
  'process_vm_readv', 'process_vm_writev', 'ptrace', 'query_module', 'quotactl', 'reboot',
  'request_key', 'set_mempolicy', 'setns', 'settimeofday', 'stime', 'swapon', 'swapoff', 'sysfs',
  '_sysctl', 'umount', 'umount2', 'unshare', 'uselib', 'userfaultfd', 'ustat', 'vm86', 'vm86old',
  'fsopen', 'fsconfig', 'fsmount', 'fspick', 'move_mount', 'open_tree', 'mount_setattr',
];

const EPERM = 1;
const ENOSYS = 38;

/**
 * A Node `process.arch` as moby names it: libseccomp's name (goToNative), which a rule's
 * `arches` filter matches, and its seccomp architecture with the ones its kernel also runs.
 */
const ARCHES: Record<string, { native: string; seccomp: string; sub: string[] }> = {
  x64: { native: 'amd64', seccomp: 'SCMP_ARCH_X86_64', sub: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
  ia32: { native: 'x86', seccomp: 'SCMP_ARCH_X86', sub: [] },
  arm64: { native: 'arm64', seccomp: 'SCMP_ARCH_AARCH64', sub: ['SCMP_ARCH_ARM'] },
  arm: { native: 'arm', seccomp: 'SCMP_ARCH_ARM', sub: [] },
  s390x: { native: 's390x', seccomp: 'SCMP_ARCH_S390X', sub: ['SCMP_ARCH_S390'] },
  riscv64: { native: 'riscv64', seccomp: 'SCMP_ARCH_RISCV64', sub: [] },
};

/** moby's `Filter`: when a rule applies, by the container's capabilities, the host's architecture and kernel. */
interface ProfileFilter {
  caps?: string[];
  arches?: string[];
  /** `[kernel, major]`; `[0, 0]` (from `""`) is met by any kernel. */
  minKernel?: [number, number];
}

/** moby's `Syscall`: a runtime-spec rule with the older single `name`, and conditions. */
interface ProfileRule {
  names?: string[];
  name?: string;
  action?: string;
  errnoRet?: number;
  args?: Array<Partial<SeccompArg>>;
  comment?: string;
  includes?: ProfileFilter;
  excludes?: ProfileFilter;
}

/** A seccomp profile in Docker's format (moby profiles/seccomp `Seccomp`), as `--security-opt seccomp=FILE` gives it. */
interface SeccompProfile {
  defaultAction?: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  archMap?: Array<{ architecture?: string; subArchitectures?: string[] }>;
  /** A JSON null stays undefined, as Go's nil *Syscall. */
  syscalls?: Array<ProfileRule | undefined>;
}

/** Docker's default policy, in the same format a user's profile comes in. */
const DEFAULT_PROFILE: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ALLOW',
  archMap: Object.values(ARCHES).map((a) => ({ architecture: a.seccomp, subArchitectures: a.sub })),
  syscalls: [
    { names: [...BLOCKED_SYSCALLS], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM },
    // clone3 cannot be filtered on its flags; ENOSYS makes libc fall back to clone (as Docker does).
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
  ],
};

/** What a profile's conditions are weighed against. */
export interface SeccompTarget {
  /** Node's name of the CPU architecture (default `process.arch`). */
  arch?: string;
  /** The container's bounding set (`CAP_…`). */
  capabilities: readonly string[];
  /** `uname -r` (default the running kernel's). */
  kernelRelease?: string;
}

/** Docker's default seccomp policy for the given Node `process.arch`. */
export function defaultSeccompProfile(arch: string = process.arch): Seccomp {
  return resolveProfile(DEFAULT_PROFILE, { arch, capabilities: [] }) as Seccomp;
}

/**
 * The spec's seccomp for a container's choice: Docker's profile, none, or the user's profile
 * text as moby's LoadProfile takes it. Undefined where the container runs without one
 * (`unconfined`, or a profile with neither a default action nor rules, as moby has it).
 */
export function containerSeccomp(choice: RunOptions['seccomp'], target: SeccompTarget): Seccomp | undefined {
  if (choice === 'unconfined') return undefined;
  return resolveProfile(choice === undefined || choice === 'default' ? DEFAULT_PROFILE : decodeProfile(choice.profile), target);
}

/** moby's setupSeccomp: the runtime-spec profile for this host and container. */
function resolveProfile(profile: SeccompProfile, target: SeccompTarget): Seccomp | undefined {
  if (!profile.defaultAction && !profile.syscalls?.length) return undefined;
  if (profile.architectures?.length && profile.archMap?.length) {
    throw invalidArgument("both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'");
  }
  const arch = ARCHES[target.arch ?? process.arch];
  const architectures = [...(profile.architectures ?? [])];
  const mapped = arch && profile.archMap?.find((a) => a.architecture === arch.seccomp);
  if (mapped) architectures.push(arch.seccomp, ...(mapped.subArchitectures ?? []));
  const kernel = kernelVersion(target.kernelRelease ?? os.release());
  const atLeast = ([major, minor]: [number, number]): boolean => kernel[0] > major || (kernel[0] === major && kernel[1] >= minor);
  const has = (cap: string): boolean => target.capabilities.includes(cap);
  const native = arch?.native ?? '';
  // Left out where any exclude condition holds (any of its arches, any of its capabilities), or an include one does not (one of its arches, all its capabilities).
  const excluded = ({ arches, caps, minKernel }: ProfileFilter): boolean => arches?.includes(native) || caps?.some(has) || (minKernel !== undefined && atLeast(minKernel));
  const included = ({ arches, caps, minKernel }: ProfileFilter): boolean => (!arches?.length || arches.includes(native)) && (caps ?? []).every(has) && (minKernel === undefined || atLeast(minKernel));
  const syscalls: SeccompRule[] = [];
  for (const [i, rule] of (profile.syscalls ?? []).entries()) {
    if (!rule) throw invalidArgument(`the seccomp profile's syscalls[${i}] is null`, { hint: 'give each rule as an object with names and an action' });
    if (rule.name && rule.names?.length) throw invalidArgument("both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'");
    if ((rule.excludes && excluded(rule.excludes)) || (rule.includes && !included(rule.includes))) continue;
    syscalls.push({
      names: rule.name ? [rule.name] : [...(rule.names ?? [])],
      action: rule.action ?? '',
      ...(rule.errnoRet !== undefined ? { errnoRet: rule.errnoRet } : {}),
      ...(rule.args?.length ? { args: rule.args.map((a) => ({ index: a.index ?? 0, value: a.value ?? 0, ...(a.valueTwo ? { valueTwo: a.valueTwo } : {}), op: a.op ?? '' })) } : {}),
    });
  }
  return {
    defaultAction: profile.defaultAction ?? '',
    ...(profile.defaultErrnoRet !== undefined ? { defaultErrnoRet: profile.defaultErrnoRet } : {}),
    architectures,
    ...(profile.flags?.length ? { flags: [...profile.flags] } : {}),
    ...(profile.listenerPath ? { listenerPath: profile.listenerPath } : {}),
    ...(profile.listenerMetadata ? { listenerMetadata: profile.listenerMetadata } : {}),
    syscalls,
  };
}

/** The running kernel's `[version, major revision]`, as moby's kernel.GetKernelVersion reads `uname -r`. */
function kernelVersion(release: string): [number, number] {
  const match = /^(\d+)\.(\d+)/.exec(release);
  return match ? [Number(match[1]), Number(match[2])] : [0, 0];
}

/** A JSON number as its text has it: Go's decoder reads a uint64 from the digits, and names the literal when it cannot. */
class JsonNumber {
  constructor(readonly literal: string) {}
}

type Json = ExactJson<JsonNumber>;

/** Where a value sits, for Go's UnmarshalTypeError: the innermost struct and the JSON field names down to it. */
interface At {
  struct: string;
  fields: string[];
}

/** What Go's json.Unmarshal refuses, in its words. */
class GoJsonError extends Error {}

function kindOf(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof JsonNumber) return 'number';
  return typeof value === 'boolean' ? 'bool' : typeof value;
}

function typeError(value: Json, goType: string, at: At | undefined, withNumber = false): GoJsonError {
  const what = withNumber && value instanceof JsonNumber ? `number ${value.literal}` : kindOf(value);
  return new GoJsonError(at ? `json: cannot unmarshal ${what} into Go struct field ${at.struct}.${at.fields.join('.')} of type ${goType}` : `json: cannot unmarshal ${what} into Go value of type ${goType}`);
}

/** Decodes one JSON value into a Go type's shape; null leaves the field unset, as Go's decoder does. */
type Decoder<T> = (value: Json, at: At | undefined) => T | undefined;

const str =
  (goType = 'string'): Decoder<string> =>
  (value, at) => {
    if (value === null) return undefined;
    if (typeof value !== 'string') throw typeError(value, goType, at);
    return value;
  };

/** 2^64: strconv.ParseUint's bound, under which Go's decoder reads a uint (as wide as a uint64 on 64-bit hosts) or uint64. */
const UINT64_LIMIT = 2n ** 64n;

/** A Go uint or uint64: digits alone, below 2^64; exact past 2^53 as a bigint. */
const unsigned =
  (goType: 'uint' | 'uint64'): Decoder<number | bigint> =>
  (value, at) => {
    if (value === null) return undefined;
    if (!(value instanceof JsonNumber)) throw typeError(value, goType, at);
    if (!/^[0-9]+$/.test(value.literal) || BigInt(value.literal) >= UINT64_LIMIT) throw typeError(value, goType, at, true);
    return exactInteger(value.literal);
  };

/** A Go uint the spec keeps as a number: an errno or an argument's index, small by nature. */
const uint: Decoder<number> = (value, at) => {
  const decoded = unsigned('uint')(value, at);
  if (typeof decoded !== 'bigint') return decoded;
  throw new GoJsonError(`${at?.fields.join('.') ?? 'value'}: ${decoded} is above 2^53, which ctr cannot pass on exactly`);
};

/** A Go slice; a null element is its type's zero value (`zero`), or absent for a slice of pointers. */
const list =
  <T>(goType: string, item: Decoder<T>, zero?: T): Decoder<Array<T | undefined>> =>
  (value, at) => {
    if (value === null) return undefined;
    if (!Array.isArray(value)) throw typeError(value, goType, at);
    return value.map((element) => item(element, at) ?? zero);
  };

/** A Go struct: keys matched to its JSON field names exactly, else without regard to case; others ignored. */
const struct =
  <T>(name: string, goType: string, fields: Record<string, Decoder<unknown>>): Decoder<T> =>
  (value, at) => {
    if (value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value) || value instanceof JsonNumber) throw typeError(value, goType, at);
    const names = Object.keys(fields);
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      const target = names.find((n) => n === key) ?? names.find((n) => n.toLowerCase() === key.toLowerCase());
      if (target === undefined) continue;
      const decoded = (fields[target] as Decoder<unknown>)(field, { struct: name, fields: [...(at?.fields ?? []), target] });
      if (decoded !== undefined) out[target] = decoded;
    }
    return out as T;
  };

/** moby's KernelVersion.UnmarshalJSON: `"<kernel>.<major>"`, each part below 256, not both 0. */
const kernel: Decoder<[number, number]> = (value) => {
  if (value === null) return undefined;
  const invalid = (why: string): GoJsonError => new GoJsonError(`invalid kernel version: ${JSON.stringify(value)}, expected "<kernel>.<major>"${why}`);
  if (typeof value !== 'string') throw invalid(`: json: cannot unmarshal ${kindOf(value)} into Go value of type string`);
  if (value === '') return [0, 0];
  const parts = value.split('.');
  if (parts.length !== 2) throw invalid('');
  const [kernelPart, majorPart] = parts.map((part) => {
    if (!/^\d+$/.test(part)) throw invalid(`: strconv.ParseUint: parsing ${JSON.stringify(part)}: invalid syntax`);
    if (Number(part) > 255) throw invalid(`: strconv.ParseUint: parsing ${JSON.stringify(part)}: value out of range`);
    return Number(part);
  }) as [number, number];
  if (kernelPart === 0 && majorPart === 0) throw invalid(': version cannot be 0.0');
  return [kernelPart, majorPart];
};

const strings = (goType: string, item = str()): Decoder<Array<string | undefined>> => list(goType, item, '');
const filter = struct<ProfileFilter>('Filter', 'seccomp.Filter', { caps: strings('[]string'), arches: strings('[]string'), minKernel: kernel });

const decodeSeccomp = struct<SeccompProfile>('Seccomp', 'seccomp.Seccomp', {
  defaultAction: str('specs.LinuxSeccompAction'),
  defaultErrnoRet: uint,
  architectures: strings('[]specs.Arch', str('specs.Arch')),
  flags: strings('[]specs.LinuxSeccompFlag', str('specs.LinuxSeccompFlag')),
  listenerPath: str(),
  listenerMetadata: str(),
  archMap: list(
    '[]seccomp.Architecture',
    struct('Architecture', 'seccomp.Architecture', { architecture: str('specs.Arch'), subArchitectures: strings('[]specs.Arch', str('specs.Arch')) }),
    {},
  ),
  syscalls: list(
    '[]*seccomp.Syscall',
    struct<ProfileRule>('Syscall', 'seccomp.Syscall', {
      names: strings('[]string'),
      name: str(),
      action: str('specs.LinuxSeccompAction'),
      errnoRet: uint,
      args: list(
        '[]specs.LinuxSeccompArg',
        struct('LinuxSeccompArg', 'specs.LinuxSeccompArg', { index: uint, value: unsigned('uint64'), valueTwo: unsigned('uint64'), op: str('specs.LinuxSeccompOperator') }),
        {},
      ),
      comment: str(),
      includes: filter,
      excludes: filter,
    }),
  ),
});

/** moby's LoadProfile: the JSON text decoded as Go's json.Unmarshal would, refused in dockerd's words. */
function decodeProfile(text: string): SeccompProfile {
  const refuse = (reason: string): Error =>
    invalidArgument(`Decoding seccomp profile failed: ${reason}`, { hint: 'a seccomp profile is a JSON object in Docker\'s format (defaultAction, architectures or archMap, syscalls)' });
  const syntax = goJsonSyntaxError(text);
  if (syntax) throw refuse(syntax);
  try {
    return decodeSeccomp(parseExactJson(text, (literal) => new JsonNumber(literal)), undefined) ?? {};
  } catch (error) {
    if (error instanceof GoJsonError) throw refuse(error.message);
    throw error;
  }
}
