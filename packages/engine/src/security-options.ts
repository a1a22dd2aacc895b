import { invalidArgument } from '@ctr/errors';
import { goParseBool } from '@ctr/image';
import type { RunOptions } from '@ctr/runtime';

/** What `--security-opt` sets of a container. */
export type SecuritySettings = Pick<RunOptions, 'noNewPrivileges' | 'seccomp'>;

/**
 * `HostConfig.SecurityOpt` as moby's parseSecurityOpt reads it: `no-new-privileges[=bool]`,
 * `seccomp=unconfined|builtin|<profile JSON>` (docker's CLI sends a file's content), and
 * `label=…`, `apparmor=…`, `disable`, which ctr has nothing to apply to (no SELinux label or
 * AppArmor profile). `key:value` is the older spelling. Anything else is refused in dockerd's words.
 */
export function securitySettings(values: readonly string[]): SecuritySettings {
  const settings: SecuritySettings = {};
  for (const value of values) {
    if (value === 'no-new-privileges') settings.noNewPrivileges = true;
    if (value === 'no-new-privileges' || value === 'disable') continue;
    const separator = value.includes('=') ? '=' : value.includes(':') ? ':' : undefined;
    if (!separator) throw invalidArgument(`invalid --security-opt 1: ${JSON.stringify(value)}`);
    const at = value.indexOf(separator);
    const [key, setting] = [value.slice(0, at), value.slice(at + 1)];
    if (key === 'seccomp') {
      settings.seccomp = setting === 'unconfined' ? 'unconfined' : setting === '' || setting === 'builtin' ? 'default' : { profile: setting };
      continue;
    }
    const enabled = key === 'no-new-privileges' ? goParseBool(setting) : undefined;
    if (enabled !== undefined) settings.noNewPrivileges = enabled;
    else if (key !== 'label' && key !== 'apparmor') {
      throw invalidArgument(`invalid --security-opt 2: ${JSON.stringify(value)}`, { hint: 'ctr takes no-new-privileges[=true|false] and seccomp=unconfined|builtin|<profile JSON>' });
    }
  }
  return settings;
}

/** The settings as `HostConfig.SecurityOpt` shows them, in the form `securitySettings` reads. */
export function securityOptList(settings: SecuritySettings): string[] {
  const { noNewPrivileges, seccomp } = settings;
  return [
    ...(noNewPrivileges ? ['no-new-privileges'] : []),
    ...(seccomp === undefined ? [] : [`seccomp=${seccomp === 'default' ? 'builtin' : seccomp === 'unconfined' ? seccomp : seccomp.profile}`]),
  ];
}
