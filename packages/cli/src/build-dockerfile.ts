import { promises as fs } from 'node:fs';
import path from 'node:path';
import { goPathError, invalidArgument, notFound } from '@ctr/errors';

/** docker's DefaultDockerfileName. */
const DEFAULT_NAME = 'Dockerfile';

/** A context directory's Dockerfile: its path in the context, or, when it lies outside, its content. */
export type LocalDockerfile = { name: string } | { content: Buffer };

/**
 * The Dockerfile of a context directory as docker's CLI finds it (GetContextFromLocalDir,
 * getDockerfileRelPath): `-f` taken from the current directory; without it `Dockerfile` in the
 * context, or `dockerfile` when only that is there; links resolved. One outside the context is
 * read here, to be sent inside it under a name of its own as docker's CLI sends it.
 */
export async function localDockerfile(contextDir: string, given: string | undefined): Promise<LocalDockerfile> {
  const root = await fs.realpath(contextDir);
  let file = given === undefined ? path.join(root, DEFAULT_NAME) : path.resolve(given);
  if (given === undefined && !(await exists(file))) {
    const lower = path.join(root, DEFAULT_NAME.toLowerCase());
    if (await exists(lower)) file = lower;
  }
  let real: string;
  try {
    real = await fs.realpath(file);
  } catch (error) {
    throw notFound(`unable to prepare context: unable to evaluate symlinks in Dockerfile path: ${await lstatFailure(file, error)}`);
  }
  const rel = path.relative(root, real);
  if (!rel.startsWith(`..${path.sep}`)) return { name: rel.split(path.sep).join('/') };
  try {
    return { content: await fs.readFile(file) };
  } catch (error) {
    throw invalidArgument(`unable to open Dockerfile: ${goPathError(error, file)}`);
  }
}

function exists(file: string): Promise<boolean> {
  return fs.lstat(file).then(
    () => true,
    () => false,
  );
}

/** Why `file`'s links could not be followed, as Go's EvalSymlinks says it: the first part of the path that cannot be looked at. */
async function lstatFailure(file: string, error: unknown): Promise<string> {
  const parts = file.split(path.sep);
  for (let end = 2; end <= parts.length; end++) {
    const prefix = parts.slice(0, end).join(path.sep);
    const failure = await fs.lstat(prefix).then(
      () => undefined,
      (e: unknown) => goPathError(e, prefix),
    );
    if (failure !== undefined) return failure;
  }
  return goPathError(error, file);
}
