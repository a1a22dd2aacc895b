import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { goErrnoWords, invalidArgument } from '@ctr/errors';
import type { DeviceRule } from '../oci-spec';
import type { ContainerDevice, DeviceMapping, RunOptions, SpecContext } from '../types';
import { ALL_CAPABILITIES } from './defaults';
import { capabilitySet, type SpecOpt } from './spec-opts';

/** Under /dev, what runc's `HostDevices` leaves out: its own mounts, and the console, which belongs to the host. */
const SKIPPED_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

// Linux's `major()` and `minor()` of a dev_t.
export const major = (dev: bigint): number => Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
export const minor = (dev: bigint): number => Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));

function deviceAt(hostPath: string, containerPath: string, access: string): ContainerDevice | undefined {
  const stat = statSync(hostPath, { bigint: true });
  const type = stat.isCharacterDevice() ? 'c' : stat.isBlockDevice() ? 'b' : undefined;
  if (!type) return undefined;
  return {
    path: containerPath,
    type,
    major: major(stat.rdev),
    minor: minor(stat.rdev),
    fileMode: Number(stat.mode & 0o7777n),
    uid: Number(stat.uid),
    gid: Number(stat.gid),
    access,
  };
}

/** Every device node under `dir` on the host, at the same place under `target` in the container. */
function devicesUnder(dir: string, target: string, access: string): ContainerDevice[] {
  const out: ContainerDevice[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const hostPath = path.join(dir, entry.name);
    const containerPath = path.posix.join(target, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) out.push(...devicesUnder(hostPath, containerPath, access));
    } else if ((entry.isCharacterDevice() || entry.isBlockDevice()) && hostPath !== '/dev/console') {
      const device = deviceAt(hostPath, containerPath, access);
      if (device) out.push(device);
    }
  }
  return out;
}

/** One `--device`: a node, or a directory of them; refused as dockerd refuses it. */
function mappedDevices(mapping: DeviceMapping): ContainerDevice[] {
  const access = mapping.permissions || 'rwm';
  if (!/^[rwm]{1,3}$/.test(access) || new Set(access).size !== access.length) throw invalidArgument(`invalid device mode: ${access}`);
  const target = mapping.pathInContainer || mapping.pathOnHost;
  if (!path.posix.isAbsolute(target)) throw invalidArgument(`bad format for path: ${target}`);
  const failure = (reason: string): Error =>
    invalidArgument(`error gathering device information while adding custom device "${mapping.pathOnHost}": ${reason}`);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(mapping.pathOnHost).isDirectory();
  } catch (error) {
    throw failure(goErrnoWords(error));
  }
  if (isDirectory) return devicesUnder(mapping.pathOnHost, target, access);
  const device = deviceAt(mapping.pathOnHost, target, access);
  if (!device) throw failure('not a device node');
  return [device];
}

/** The device nodes a container gets, read from the host: the `--device` ones, or all of /dev when privileged. */
export function containerDevices(options: RunOptions): ContainerDevice[] {
  const mapped = (options.devices ?? []).flatMap(mappedDevices);
  if (!options.privileged) return mapped;
  const paths = new Set(mapped.map((d) => d.path));
  return [...mapped, ...devicesUnder('/dev', '/dev', 'rwm').filter((d) => !paths.has(d.path))];
}

/** moby's reading of a device cgroup rule: type, major and minor (`*` for any), access. */
const CGROUP_RULE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** One `--device-cgroup-rule` (`c 1:3 mr`, `a *:* rwm`) as an allow entry of the spec; `*` is a number left out, which is any. */
export function deviceCgroupRule(text: string): DeviceRule {
  const match = CGROUP_RULE.exec(text);
  if (!match) throw invalidArgument(`invalid device cgroup rule format: '${text}'`);
  const [, type, major, minor, access] = match as unknown as [string, DeviceRule['type'], string, string, string];
  return { allow: true, type, ...(major === '*' ? {} : { major: Number(major) }), ...(minor === '*' ? {} : { minor: Number(minor) }), access };
}

/**
 * `--device` and `--privileged`, as moby's spec has them: each device is made in the
 * container and allowed in its device cgroup. Privileged also means every capability, no
 * seccomp profile, nothing masked or read-only under /proc, and /sys and its cgroups writable.
 */
export function withDevices(options: RunOptions, ctx: SpecContext): SpecOpt {
  return (spec) => {
    const devices = ctx.devices ?? [];
    if (devices.length > 0) {
      spec.linux.devices = devices.map(({ access: _access, ...device }) => device);
      const rules = (spec.linux.resources ??= {}).devices ?? [];
      spec.linux.resources.devices = [...rules, ...devices.map((d) => ({ allow: true, type: d.type, major: d.major, minor: d.minor, access: d.access }))];
    }
    // After the defaults, as moby appends them: a later rule wins, so one can allow what a default denies (fuse).
    const cgroupRules = (options.deviceCgroupRules ?? []).map(deviceCgroupRule);
    if (cgroupRules.length > 0) {
      const resources = (spec.linux.resources ??= {});
      resources.devices = [...(resources.devices ?? []), ...cgroupRules];
    }
    if (!options.privileged) return;
    spec.process.capabilities = capabilitySet([...(ctx.allCapabilities ?? ALL_CAPABILITIES)]);
    (spec.linux.resources ??= {}).devices = [{ allow: true, access: 'rwm' }];
    delete spec.linux.seccomp;
    spec.linux.maskedPaths = [];
    spec.linux.readonlyPaths = [];
    for (const m of spec.mounts) {
      if (m.destination === '/sys' || m.destination === '/sys/fs/cgroup') m.options = (m.options ?? []).filter((o) => o !== 'ro');
    }
  };
}
