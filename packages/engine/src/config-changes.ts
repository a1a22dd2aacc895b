import type { ContainerConfig } from '@ctr/image';
import { invalidArgument } from '@ctr/errors';
import { dockerfileModule } from './lazy-modules';

const SHELL = ['/bin/sh', '-c'];

/**
 * `--change 'CMD ["sh"]'` for `import` and `commit`: Dockerfile instructions, parsed by
 * @ctr/dockerfile, applied to an image config. Only the instructions docker allows here.
 */
export function applyConfigChanges(changes: readonly string[], base: ContainerConfig = {}): ContainerConfig {
  const { parse, parseInstruction } = dockerfileModule();
  const config: ContainerConfig = { ...base };
  for (const change of changes.flatMap((c) => c.split('\n')).filter((c) => c.trim() !== '')) {
    const nodes = parse(change, { file: '--change' }).nodes;
    for (const node of nodes) {
      const instruction = parseInstruction(node, '--change');
      switch (instruction.kind) {
        case 'CMD':
          config.Cmd = instruction.shell ? [...SHELL, ...instruction.command] : instruction.command;
          break;
        case 'ENTRYPOINT':
          config.Entrypoint = instruction.shell ? [...SHELL, ...instruction.command] : instruction.command;
          break;
        case 'ENV':
          config.Env = [...(config.Env ?? []).filter((e) => !instruction.env.some((kv) => e.startsWith(`${kv.key}=`))), ...instruction.env.map((kv) => `${kv.key}=${kv.value}`)];
          break;
        case 'LABEL':
          config.Labels = { ...(config.Labels ?? {}), ...Object.fromEntries(instruction.labels.map((kv) => [kv.key, kv.value])) };
          break;
        case 'EXPOSE':
          config.ExposedPorts = { ...(config.ExposedPorts ?? {}), ...Object.fromEntries(instruction.ports.map((p) => [p.includes('/') ? p : `${p}/tcp`, {}])) };
          break;
        case 'USER':
          config.User = instruction.user;
          break;
        case 'WORKDIR':
          config.WorkingDir = instruction.path;
          break;
        case 'VOLUME':
          config.Volumes = { ...(config.Volumes ?? {}), ...Object.fromEntries(instruction.volumes.map((v) => [v, {}])) };
          break;
        case 'STOPSIGNAL':
          config.StopSignal = instruction.signal;
          break;
        default:
          throw invalidArgument(`${instruction.kind} is not a valid change command`, {
            hint: 'allowed: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR',
          });
      }
    }
  }
  return config;
}
