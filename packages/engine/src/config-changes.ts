import { envMap, type ContainerConfig } from '@ctr/image';
import { invalidArgument } from '@ctr/errors';
import { dockerfileModule } from './lazy-modules';

/**
 * `--change 'CMD ["sh"]'` for `import` and `commit`: Dockerfile instructions, parsed and
 * applied by @ctr/dockerfile exactly as a build applies them (docker's commit does the same),
 * so `$VAR` expands from the config's environment, including variables an earlier change set.
 */
export function applyConfigChanges(changes: readonly string[], base: ContainerConfig = {}): ContainerConfig {
  const { parse, parseInstruction, applyConfigInstruction, isConfigInstruction, ShellLex } = dockerfileModule();
  const config: ContainerConfig = { ...base };
  const lex = new ShellLex();
  const expand = (word: string): string => lex.processWord(word, envMap(config.Env));
  const expandWords = (word: string): string[] => lex.processWords(word, envMap(config.Env));
  const steps = { cmdSet: false };
  for (const change of changes.flatMap((c) => c.split('\n')).filter((c) => c.trim() !== '')) {
    for (const node of parse(change, { file: '--change' }).nodes) {
      const instruction = parseInstruction(node, '--change');
      // docker's `--change` takes every config instruction but SHELL.
      if (!isConfigInstruction(instruction) || instruction.kind === 'SHELL') {
        throw invalidArgument(`${instruction.kind} is not a valid change command`, {
          hint: 'allowed: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR',
        });
      }
      applyConfigInstruction(config, instruction, expand, steps, expandWords);
    }
  }
  return config;
}
