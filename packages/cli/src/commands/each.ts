import type { Io } from '../command';
import { println } from '../context';
import { formatInspect, goJson } from '../format';

/**
 * `ctr rm a b c` the way docker does it: act on each name in turn, print what the action
 * reports (the name itself by default), report a failure and carry on; exit 1 if any failed.
 */
export async function forEachArg(names: readonly string[], io: Io, action: (name: string) => Promise<string[] | void>): Promise<number> {
  let status = 0;
  for (const name of names) {
    try {
      for (const line of (await action(name)) ?? [name]) println(io, line);
    } catch (error) {
      io.stderr.write(`Error response from daemon: ${(error as Error).message}\n`);
      status = 1;
    }
  }
  return status;
}

/**
 * `ctr volume inspect a b`: a JSON array of what `fetch` gives, or each through `--format`;
 * as docker's, one that cannot be had is left out and its error follows the output (exit 1).
 */
export async function inspectEach(
  names: readonly string[],
  io: Io,
  format: string | undefined,
  fetch: (name: string) => Promise<unknown>,
  errorLine = (error: Error): string => `Error response from daemon: ${error.message}`,
): Promise<number> {
  const items: unknown[] = [];
  const errors: string[] = [];
  for (const name of names) {
    try {
      items.push(await fetch(name));
    } catch (error) {
      errors.push(errorLine(error as Error));
    }
  }
  println(io, format ? formatInspect(format, items) : goJson(items, { indent: 4 }));
  for (const line of errors) io.stderr.write(`${line}\n`);
  return errors.length > 0 ? 1 : 0;
}
