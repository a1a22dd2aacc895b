import { envMap, type ContainerConfig } from '@ctr/image';
import { invalidArgument, type CtrError } from '@ctr/errors';
import { dockerfileModule } from './lazy-modules';

/** moby's validCommitCommands: every config instruction but SHELL. */
const CHANGE_COMMANDS: ReadonlySet<string> = new Set(['cmd', 'entrypoint', 'env', 'expose', 'healthcheck', 'label', 'onbuild', 'stopsignal', 'user', 'volume', 'workdir']);

/** moby's refusal of a keyword `--change` does not take, with the ones it does. */
function notAChange(keyword: string): CtrError {
  return invalidArgument(`${keyword} is not a valid change command`, { hint: `allowed: ${[...CHANGE_COMMANDS].map((c) => c.toUpperCase()).join(', ')}` });
}

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
      // moby's BuildFromConfig checks the keyword before parsing the instruction, and names it
      // as its parser keeps it, lower-cased: `bogus is not a valid change command`.
      const keyword = node.keyword.toLowerCase();
      if (!CHANGE_COMMANDS.has(keyword)) throw notAChange(keyword);
      const instruction = parseInstruction(node, '--change');
      // Every allowed keyword parses to a config instruction: this tells the compiler so.
      if (!isConfigInstruction(instruction)) throw notAChange(keyword);
      applyConfigInstruction(config, instruction, expand, steps, expandWords);
    }
  }
  return config;
}
