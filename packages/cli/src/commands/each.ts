import type { Io } from '../command';
import { println } from '../context';
import { formatItems } from '../format';

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

/** `ctr volume inspect a b`: a JSON array of what `fetch` gives, or each through `--format`. */
export async function inspectEach(names: readonly string[], io: Io, format: string | undefined, fetch: (name: string) => Promise<unknown>): Promise<number> {
  const items: unknown[] = [];
  for (const name of names) items.push(await fetch(name));
  println(io, format ? formatItems(format, items, {}) : JSON.stringify(items, null, 4));
  return 0;
}
