import { invalidArgument } from '@ctr/errors';
import { goJsonSyntaxError, goParseBool } from '@ctr/image';
import type { RunOptions } from '@ctr/runtime';

/**
 * A seccomp profile file's text as docker's CLI and compose send it (`seccomp=<json>`: the
 * daemon reads no client's files): checked, then compacted as Go's json.Compact does (the
 * blanks between tokens go, strings stay as written); refused in their words, naming `file`.
 */
export function compactSeccompProfile(text: string, file: string): string {
  const syntax = goJsonSyntaxError(text);
  if (syntax) throw invalidArgument(`compacting json for seccomp profile (${file}) failed: ${syntax}`);
  return text.replace(/"(?:[^"\\]|\\.)*"|[ \t\r\n]+/g, (token) => (token.startsWith('"') ? token : ''));
}

/** One `HostConfig.SecurityOpt` entry, as moby's parseSecurityOpt reads it. */
export type SecurityOpt =
  | { key: 'no-new-privileges'; enabled: boolean }
  | { key: 'seccomp'; seccomp: NonNullable<RunOptions['seccomp']> }
  /** An SELinux label option (`label=…`, or `disable` alone) or an AppArmor profile: ctr has neither to apply them to. */
  | { key: 'label' | 'apparmor'; value: string };

/** What a container's `--security-opt` takes, for the hint of a refusal. */
const CONTAINER_HINT = 'ctr takes no-new-privileges[=true|false], seccomp=unconfined|builtin|<profile JSON>, label=… and apparmor=…';

/**
 * moby's parseSecurityOpt for one entry: `no-new-privileges[=bool]`, `seccomp=unconfined|builtin|
 * <profile JSON>` (docker's CLI sends a file's content; `seccomp=` alone is the builtin profile),
 * `label=…`, `apparmor=…` and `disable`; `key:value` is the older spelling. Anything else is
 * refused in dockerd's words, with `hint` saying what the caller takes.
 */
export function parseSecurityOpt(value: string, hint: string = CONTAINER_HINT): SecurityOpt {
  if (value === 'no-new-privileges') return { key: value, enabled: true };
  if (value === 'disable') return { key: 'label', value };
  const separator = value.includes('=') ? '=' : value.includes(':') ? ':' : undefined;
  if (!separator) throw invalidArgument(`invalid --security-opt 1: ${JSON.stringify(value)}`, { hint });
  const at = value.indexOf(separator);
  const [key, setting] = [value.slice(0, at), value.slice(at + 1)];
  if (key === 'label' || key === 'apparmor') return { key, value: setting };
  if (key === 'seccomp') return { key, seccomp: setting === 'unconfined' ? 'unconfined' : setting === '' || setting === 'builtin' ? 'default' : { profile: setting } };
  const enabled = key === 'no-new-privileges' ? goParseBool(setting) : undefined;
  if (enabled === undefined) throw invalidArgument(`invalid --security-opt 2: ${JSON.stringify(value)}`, { hint });
  return { key: 'no-new-privileges', enabled };
}

/**
 * What `--security-opt` sets of a container: what it applies, and the options as given
 * (`securityOpt`), which inspect shows as dockerd keeps `HostConfig` as it was sent.
 */
export type SecuritySettings = Pick<RunOptions, 'noNewPrivileges' | 'seccomp'> & { securityOpt?: string[] };

/** `HostConfig.SecurityOpt` read whole, each entry by `parseSecurityOpt`; the last of a kind wins, as in moby. */
export function securitySettings(values: readonly string[]): SecuritySettings {
  const settings: SecuritySettings = values.length > 0 ? { securityOpt: [...values] } : {};
  for (const value of values) {
    const option = parseSecurityOpt(value);
    if (option.key === 'no-new-privileges') settings.noNewPrivileges = option.enabled;
    else if (option.key === 'seccomp') settings.seccomp = option.seccomp;
  }
  return settings;
}

/**
 * `HostConfig.SecurityOpt` as dockerd keeps it (moby's adaptContainerSettings and
 * generateSecurityOpt): the options as given, then `label=disable` for a container that is
 * privileged or shares the host's PID or IPC namespace, unless a given option is `label=…`.
 * go-selinux's DisableSecOpt answers `disable` whether SELinux is on or not, so every dockerd
 * on Linux adds it. (Sharing another container's namespaces copies its SELinux label: with
 * none, as here, nothing.)
 */
export function keptSecurityOpt(given: readonly string[], run: Pick<RunOptions, 'privileged' | 'pid' | 'ipc'>): string[] {
  const labelGiven = given.some((option) => option.split('=')[0] === 'label');
  const disablesLabels = run.privileged === true || run.pid === 'host' || run.ipc === 'host';
  return disablesLabels && !labelGiven ? [...given, 'label=disable'] : [...given];
}

/**
 * The settings in the form `securitySettings` reads, for what has only the settings: a build's
 * steps, and a container made before its options were kept as given.
 */
export function securityOptList(settings: Pick<RunOptions, 'noNewPrivileges' | 'seccomp'>): string[] {
  const { noNewPrivileges, seccomp } = settings;
  return [
    ...(noNewPrivileges ? ['no-new-privileges'] : []),
    ...(seccomp === undefined ? [] : [`seccomp=${seccomp === 'default' ? 'builtin' : seccomp === 'unconfined' ? seccomp : seccomp.profile}`]),
  ];
}
