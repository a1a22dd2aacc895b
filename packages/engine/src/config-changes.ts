import { envMap, withEnv, type ContainerConfig } from '@ctr/image';
import { invalidArgument } from '@ctr/errors';
import { dockerfileModule } from './lazy-modules';

const SHELL = ['/bin/sh', '-c'];

/**
 * `--change 'CMD ["sh"]'` for `import` and `commit`: Dockerfile instructions, parsed by
 * @ctr/dockerfile, applied to an image config. Only the instructions docker allows here.
 * Words are processed as a Dockerfile's are (`ENV A="x y"` sets `x y`; `$VAR` expands from
 * the config's environment, including variables an earlier change set).
 */
export function applyConfigChanges(changes: readonly string[], base: ContainerConfig = {}): ContainerConfig {
  const { parse, parseInstruction, ShellLex } = dockerfileModule();
  const config: ContainerConfig = { ...base };
  const lex = new ShellLex();
  const x = (word: string): string => lex.processWord(word, envMap(config.Env));
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
        case 'ENV': {
          // As in a Dockerfile, every value is expanded before any of the instruction's own are set.
          const pairs = instruction.env.map((kv) => [x(kv.key), x(kv.value)] as const);
          for (const [key, value] of pairs) config.Env = withEnv(config.Env, key, value);
          break;
        }
        case 'LABEL':
          config.Labels = { ...(config.Labels ?? {}), ...Object.fromEntries(instruction.labels.map((kv) => [x(kv.key), x(kv.value)])) };
          break;
        case 'EXPOSE':
          config.ExposedPorts = {
            ...(config.ExposedPorts ?? {}),
            ...Object.fromEntries(instruction.ports.map(x).map((p) => [p.includes('/') ? p : `${p}/tcp`, {}])),
          };
          break;
        case 'USER':
          config.User = x(instruction.user);
          break;
        case 'WORKDIR':
          config.WorkingDir = x(instruction.path);
          break;
        case 'VOLUME':
          config.Volumes = { ...(config.Volumes ?? {}), ...Object.fromEntries(instruction.volumes.map((v) => [x(v), {}])) };
          break;
        case 'STOPSIGNAL':
          config.StopSignal = x(instruction.signal);
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

