import { endianness } from 'node:os';
import { invalidArgument } from '@ctr/errors';
import type { Platform } from './descriptor';

/**
 * Platforms as containerd's `platforms` package sees them: names normalised to OCI's
 * (`x86_64` → `amd64`, `aarch64` → `arm64`, `armhf` → `arm/v7`), and a matcher that
 * accepts what the platform can run, best first (an amd64 host runs 386 images too, an
 * arm/v7 host runs v6 and v5).
 */

/** A platform with its names normalised, as `os/architecture[/variant]` would be written. */
export function normalizePlatform(platform: Platform): Platform {
  const os = normalizeOs(platform.os);
  let architecture = platform.architecture.toLowerCase();
  let variant = (platform.variant ?? '').toLowerCase();
  switch (architecture) {
    case 'i386':
      architecture = '386';
      variant = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      architecture = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64':
    case 'arm64':
      architecture = 'arm64';
      if (variant === '8' || variant === 'v8' || variant === 'v8.0') variant = '';
      else if (variant === '9' || variant === '9.0' || variant === 'v9.0') variant = 'v9';
      break;
    case 'armhf':
      architecture = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      architecture = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '' || variant === '7') variant = 'v7';
      else if (variant === '5' || variant === '6' || variant === '8') variant = `v${variant}`;
      break;
    default:
      break;
  }
  const out: Platform = { ...platform, os, architecture };
  if (variant === '') delete out.variant;
  else out.variant = variant;
  return out;
}

function normalizeOs(os: string): string {
  const lower = os.toLowerCase();
  return lower === 'macos' ? 'darwin' : lower;
}

/** Parse `linux`, `linux/arm64`, `linux/arm/v7` (what `--platform` takes), normalised. */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length > 3 || parts.some((part) => !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(part))) {
    throw invalidArgument(`invalid platform "${text}": expected os[/architecture[/variant]], e.g. linux/arm64`);
  }
  const [os = '', architecture, variant] = parts;
  // `--platform linux` means that OS on this machine's architecture, as in containerd.
  const platform: Platform =
    architecture === undefined
      ? { ...hostPlatform(), os }
      : { os, architecture, ...(variant === undefined ? {} : { variant }) };
  return normalizePlatform(platform);
}

/** `linux/arm/v7`: the form `--platform` takes and Docker's errors show. */
export function formatPlatform(platform: Platform): string {
  const normalized = normalizePlatform(platform);
  return [normalized.os, normalized.architecture, normalized.variant].filter((part) => part !== undefined && part !== '').join('/');
}

/** Node's `process.arch` in OCI's words. */
export function ociArchitecture(nodeArch: string = process.arch): string {
  switch (nodeArch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return '386';
    case 'ppc64':
      return endianness() === 'LE' ? 'ppc64le' : 'ppc64';
    case 'mipsel':
      return 'mipsle';
    default:
      // arm, arm64, s390x, riscv64, loong64, mips are already OCI names.
      return nodeArch;
  }
}

/** The platform this process runs on, normalised (`linux/amd64`, `linux/arm/v7`…). */
export function hostPlatform(): Platform {
  const architecture = ociArchitecture();
  const platform: Platform = { os: process.platform === 'win32' ? 'windows' : process.platform, architecture };
  if (architecture === 'arm') {
    const version = (process.config.variables as { arm_version?: string | number }).arm_version;
    if (version !== undefined) platform.variant = `v${version}`;
  }
  return normalizePlatform(platform);
}

/** Decides which platforms can stand in for a wanted one, and which of two is better. */
export interface PlatformMatcher {
  /** The platform being matched for, normalised. */
  readonly platform: Platform;
  match(candidate: Platform): boolean;
  /** Negative when `a` is preferred over `b`, as for `Array.prototype.sort`. */
  compare(a: Platform, b: Platform): number;
}

/**
 * A matcher for `platform` (default: the host), accepting it and the platforms it can
 * run, in order of preference — containerd's `platforms.Only`.
 */
export function platformMatcher(platform: Platform = hostPlatform()): PlatformMatcher {
  const wanted = normalizePlatform(platform);
  const vector = compatiblePlatforms(wanted);
  const rank = (candidate: Platform): number => {
    const normalized = normalizePlatform(candidate);
    const index = vector.findIndex((entry) => samePlatform(entry, normalized));
    if (index !== -1) return index;
    // A wanted platform without a variant accepts any variant, after the exact ones.
    return isLooseMatch(wanted, normalized) ? vector.length : -1;
  };
  return {
    platform: wanted,
    match: (candidate) => rank(candidate) !== -1,
    compare: (a, b) => {
      const ra = rank(a);
      const rb = rank(b);
      if (ra === rb) return 0;
      if (ra === -1) return 1;
      if (rb === -1) return -1;
      return ra - rb;
    },
  };
}

function compatiblePlatforms(platform: Platform): Platform[] {
  const vector: Platform[] = [platform];
  const version = Number.parseInt((platform.variant ?? '').replace(/^v/, ''), 10);
  const base = { os: platform.os };
  switch (platform.architecture) {
    case 'amd64':
      for (let v = version - 1; v >= 1 && Number.isInteger(version); v -= 1) {
        vector.push({ ...base, architecture: 'amd64', ...(v === 1 ? {} : { variant: `v${v}` }) });
      }
      vector.push({ ...base, architecture: '386' });
      break;
    case 'arm':
      for (let v = version - 1; v >= 5 && Number.isInteger(version); v -= 1) {
        vector.push({ ...base, architecture: 'arm', variant: `v${v}` });
      }
      break;
    case 'arm64':
      vector.push(...olderArm64(platform.variant ?? 'v8').map((variant) => ({ ...base, architecture: 'arm64', ...variant })));
      // 64-bit ARM runs 32-bit ARM images (v8 down to v5), like containerd.
      vector.push(...compatiblePlatforms({ ...base, architecture: 'arm', variant: 'v8' }));
      break;
    default:
      break;
  }
  return vector;
}

/**
 * The arm64 variants an arm64 CPU of `variant` also runs, best first: v9.x runs v9.(x-1)…v9
 * and then v8.(x+5)…v8 (v9.0 branched from v8.5); v8.x runs v8.(x-1)…v8.
 */
function olderArm64(variant: string): { variant?: string }[] {
  const parsed = /^v(\d+)(?:\.(\d+))?$/.exec(variant);
  if (parsed === null) return [];
  let major = Number(parsed[1]);
  let minor = Number(parsed[2] ?? 0);
  const out: { variant?: string }[] = [];
  const push = (x: number): void => {
    // Plain v8 is written without a variant once normalised.
    out.push(x === 0 ? (major === 8 ? {} : { variant: `v${major}` }) : { variant: `v${major}.${x}` });
  };
  if (major === 9) {
    for (let x = minor - 1; x >= 0; x -= 1) push(x);
    major = 8;
    minor += 5;
    push(minor);
  }
  if (major === 8) for (let x = minor - 1; x >= 0; x -= 1) push(x);
  return out;
}

function samePlatform(a: Platform, b: Platform): boolean {
  return a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '');
}

function isLooseMatch(wanted: Platform, candidate: Platform): boolean {
  return wanted.variant === undefined && wanted.os === candidate.os && wanted.architecture === candidate.architecture;
}
