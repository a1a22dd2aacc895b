import { isNotFound } from '@ctr/errors';
import type { Io } from '../command';
import { println } from '../context';
import { errorLine } from '../errors';
import { formatInspect, goJson, type GoJsonOptions } from '../format';

/**
 * `ctr rm a b c` the way docker does it: act on each name in turn, print what the action
 * reports (the name itself by default), report a failure and carry on; exit 1 if any failed.
 * With `errorsLast` the failures are said after every name was acted on (docker wait's
 * joined errors); with `notFoundIsFine` a name not found is said and does not fail (rm -f).
 */
export async function forEachArg(
  names: readonly string[],
  io: Io,
  action: (name: string) => Promise<string[] | void>,
  options: { errorsLast?: boolean; notFoundIsFine?: boolean } = {},
): Promise<number> {
  let status = 0;
  const later: string[] = [];
  for (const name of names) {
    try {
      for (const line of (await action(name)) ?? [name]) println(io, line);
    } catch (error) {
      if (!(options.notFoundIsFine && isNotFound(error))) status = 1;
      if (options.errorsLast) later.push(errorLine(error));
      else io.stderr.write(`${errorLine(error)}\n`);
    }
  }
  for (const line of later) io.stderr.write(`${line}\n`);
  return status;
}

/**
 * `ctr volume inspect a b`: a JSON array of what `fetch` gives, or each through `--format`;
 * as docker's, one that cannot be had is left out and its error follows the output (exit 1).
 * `marshal`: docker's CLI marshals these itself (see GoJsonOptions).
 */
export async function inspectEach(
  names: readonly string[],
  io: Io,
  format: string | undefined,
  fetch: (name: string) => Promise<unknown>,
  options: Pick<GoJsonOptions, 'marshal'> = {},
): Promise<number> {
  const items: unknown[] = [];
  const errors: string[] = [];
  for (const name of names) {
    try {
      items.push(await fetch(name));
    } catch (error) {
      errors.push(errorLine(error));
    }
  }
  println(io, format ? formatInspect(format, items, options) : goJson(items, { ...options, indent: 4 }));
  for (const line of errors) io.stderr.write(`${line}\n`);
  return errors.length > 0 ? 1 : 0;
}
