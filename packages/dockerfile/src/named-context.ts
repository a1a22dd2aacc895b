import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CtrError, goErrnoWords, invalidArgument, unsupported, type ErrorCode } from '@ctr/errors';
import { familiarString, parseReference } from '@ctr/image';
import { remoteContextKind } from './remote-context';

/**
 * A named build context (buildx's `--build-context name=value`): a directory on this machine,
 * or an image (`docker-image://ref`) that stands in for `name` wherever the Dockerfile names it.
 */
export type NamedContext = { type: 'local'; path: string } | { type: 'image'; ref: string };

const IMAGE_SCHEME = 'docker-image://';

/** What a failed stat of a named context's directory is, by its errno. */
const STAT_FAILURES: Readonly<Record<string, ErrorCode>> = { ENOENT: 'NotFound', ENOTDIR: 'NotFound', EACCES: 'Denied', EPERM: 'Denied' };

/**
 * The key a name is found by, as buildx stores it and BuildKit's frontend looks it up: the
 * familiar form without `:latest` (`docker.io/library/alpine:latest` is `alpine`). Undefined
 * for what is no reference at all (such a name can only be looked up, never given).
 */
export function contextKey(name: string): string | undefined {
  try {
    return checkedKey(name);
  } catch {
    return undefined;
  }
}

/** buildx's ParseContextNames, the values read as BuildKit reads them: `docker-image://ref`, else a directory. */
export function parseBuildContexts(values: readonly string[]): Record<string, NamedContext> {
  const contexts: Record<string, NamedContext> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq === -1) throw invalidArgument(`invalid context value: ${value}, expected key=value`);
    const name = value.slice(0, eq);
    contexts[checkedKey(name)] = namedContext(name, value.slice(eq + 1));
  }
  return contexts;
}

function checkedKey(name: string): string {
  try {
    return familiarString(parseReference(name)).replace(/:latest$/, '');
  } catch (error) {
    throw invalidArgument(`invalid context name ${name}: ${(error as Error).message}`, { cause: error });
  }
}

function namedContext(name: string, value: string): NamedContext {
  if (value.startsWith(IMAGE_SCHEME)) {
    const ref = value.slice(IMAGE_SCHEME.length);
    try {
      parseReference(ref);
    } catch (error) {
      throw invalidArgument(`invalid build context ${name}: ${value}: ${(error as Error).message}`, { cause: error });
    }
    return { type: 'image', ref };
  }
  if (remoteContextKind(value) !== undefined || /^(oci-layout|target):/.test(value)) {
    throw unsupported(`build context ${name}=${value}: only local directories and docker-image:// references are supported by this builder`, {
      hint: `Fetch it first and pass the directory, or an image: --build-context ${name}=docker-image://<image>.`,
    });
  }
  if (value === '') throw invalidArgument(`invalid context value: ${name}=, expected a directory or docker-image://<image>`);
  return { type: 'local', path: value };
}

/**
 * The contexts a build was given, keyed as they are looked up, each local directory checked
 * (and made absolute) with buildx's words before anything is built.
 */
export async function resolveNamedContexts(given: Readonly<Record<string, NamedContext>>): Promise<Map<string, NamedContext>> {
  const contexts = new Map<string, NamedContext>();
  for (const [name, context] of Object.entries(given)) {
    if (context.type === 'image') {
      contexts.set(checkedKey(name), context);
      continue;
    }
    const dir = path.resolve(context.path);
    const st = await fs.stat(dir).catch((error: NodeJS.ErrnoException) => {
      // buildx's words whatever went wrong; what kind of failure, as the errno says (not every one is a missing path).
      throw new CtrError(STAT_FAILURES[error.code ?? ''] ?? 'Internal', `failed to get build context ${name}: stat ${context.path}: ${goErrnoWords(error)}`, { cause: error });
    });
    if (!st.isDirectory()) throw invalidArgument(`failed to get build context path ${context.path}: not a directory`);
    contexts.set(checkedKey(name), { type: 'local', path: dir });
  }
  return contexts;
}
