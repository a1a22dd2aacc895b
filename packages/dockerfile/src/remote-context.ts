import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { aborted, CtrError, invalidArgument, notFound, unavailable } from '@ctr/errors';
import { peekStream, resolveInRoot, tarErrorReason } from '@ctr/image';
import { compressionOf, extractContextTar, readIgnore, writeContextDockerfile, type BuildContext } from './build-context';
import { cleanPath } from './clean-path';
import { fetchFailed, getUrl, statusError, withoutCredentials, type UrlFetch } from './fetch-url';

/** A context the builder fetches itself: docker's `remote` (the API's parameter, the CLI's URL argument). */
export interface RemoteContextSource {
  remote: string;
}

export function isRemoteContextSource(context: unknown): context is RemoteContextSource {
  return typeof context === 'object' && context !== null && !(context instanceof Readable) && typeof (context as RemoteContextSource).remote === 'string';
}

/**
 * What docker makes of a build context argument (its urlutil): a git repository — an http(s)
 * URL ending in `.git` (with an optional `#fragment`), `git://…`, `git@…`, or the legacy
 * `github.com/…` — or another http(s) URL; anything else is neither.
 */
export function remoteContextKind(text: string): 'git' | 'url' | undefined {
  const isUrl = /^https?:\/\//.test(text);
  if ((isUrl && /\.git(?:#.+)?$/.test(text)) || /^(?:git:\/\/|github\.com\/|git@)/.test(text)) return 'git';
  return isUrl ? 'url' : undefined;
}

export interface RemoteContextOptions {
  /** The Dockerfile's path in the context: a downloaded plain-text Dockerfile is put there (default `Dockerfile`). */
  dockerfile?: string;
  /** Where the clone or download goes, in a directory of its own removed by `dispose` (default the system's temporary directory). */
  scratchDir?: string;
  signal: AbortSignal;
  /** How http(s) contexts are fetched; `getUrl` when absent. */
  fetch?: UrlFetch;
  /**
   * Fetched by the client, as docker's CLI fetches a context itself: a failed download is told
   * in its words (`unable to download remote context …`), not dockerd's (`error downloading …`).
   */
  client?: boolean;
}

/**
 * A remote build context, as dockerd fetches one: a git repository cloned with the `git`
 * command (shallow, submodules too, `#ref:subdir` chosen), or an http(s) download that is a
 * tar — plain, gzip, bzip2, xz or zstd — or a plain-text Dockerfile, which becomes the only
 * file of the context. What it fetched is removed by `dispose`.
 */
export async function openRemoteContext(remote: string, options: RemoteContextOptions): Promise<BuildContext> {
  const kind = remoteContextKind(remote);
  if (kind === undefined) throw invalidArgument(`remoteURL (${remote}) could not be recognized as URL`, { hint: 'Give an http(s) URL or a git repository (https://…/repo.git, git://…, git@…).' });
  const dir = await fs.mkdtemp(path.join(options.scratchDir ?? os.tmpdir(), kind === 'git' ? 'ctr-build-git-' : 'ctr-build-url-'));
  const dispose = (): Promise<void> => fs.rm(dir, { recursive: true, force: true });
  try {
    const root = kind === 'git' ? await cloneGitContext(remote, dir, options.signal) : await downloadContext(remote, dir, options);
    return { root, ignore: await readIgnore(root), dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

// ---- git ------------------------------------------------------------------------------------

/** A git context URL split as docker splits it: the repository, and the fragment's `ref:subdir`. */
export function parseGitContextUrl(remote: string): { repository: string; ref?: string; subdir?: string } {
  // `github.com/…` has no scheme: docker fetches it over https.
  const full = /^(?:git@|[a-z][a-z0-9+.-]*:\/\/)/i.test(remote) ? remote : `https://${remote}`;
  const hash = full.indexOf('#');
  const repository = hash === -1 ? full : full.slice(0, hash);
  const [ref, subdir] = hash === -1 ? ['', ''] : (full.slice(hash + 1).split(/:(.*)/s) as [string, string?]);
  if (ref.startsWith('-')) throw invalidArgument(`invalid refspec: ${ref}`);
  return { repository, ...(ref ? { ref } : {}), ...(subdir ? { subdir } : {}) };
}

/**
 * Clone as docker does (init, fetch one commit, checkout, submodules), with its guards: no
 * `file://` submodules (`protocol.file.allow=never`, `GIT_PROTOCOL_FROM_USER=0`). Without a
 * ref the remote's default branch is fetched, as BuildKit does (the classic builder asked for
 * `master`, which fails on repositories without one).
 */
async function cloneGitContext(remote: string, dir: string, signal: AbortSignal): Promise<string> {
  const { repository, ref, subdir } = parseGitContextUrl(remote);
  const failed = (what: string, output: string): CtrError => {
    const missing = /couldn't find remote ref|not found|does not appear to be a git repository|no such repository|access denied or repository not exported/i.test(output);
    return new CtrError(missing ? 'NotFound' : 'Unavailable', `unable to 'git clone' to temporary context directory: ${what}: ${output}`, {
      hint: missing ? `Check the repository URL and the ref (${ref ?? 'default branch'}).` : 'Is the repository reachable from this machine?',
    });
  };
  // Credentials in the URL never reach a message, nor the context: the URL is fetched from, not
  // saved as a remote, and .git goes once the tree is checked out (BuildKit's default).
  const shown = withoutCredentials(repository);
  const git = async (...args: string[]): Promise<GitResult> => {
    const result = await runGit(args, dir, signal);
    return { ...result, output: result.output.split(repository).join(shown) };
  };
  await git('init', '--quiet').then(checked('failed to init repo', failed));
  const wanted = ref ?? 'HEAD';
  let fetched = await git('fetch', '--depth', '1', '--', repository, wanted);
  // A "dumb" http server cannot serve a shallow fetch: docker probes for that; asking again in full says the same.
  if (fetched.code !== 0 && /dumb http transport does not support shallow/i.test(fetched.output)) fetched = await git('fetch', '--', repository, wanted);
  checked('error fetching', failed)(fetched);
  await git('checkout', '--quiet', 'FETCH_HEAD').then(checked(`error checking out ${wanted}`, failed));
  await git('submodule', 'update', '--init', '--recursive', '--depth=1').then(checked('error initializing submodules', failed));
  await fs.rm(path.join(dir, '.git'), { recursive: true, force: true });
  if (subdir === undefined) return dir;
  const { abs, stat } = resolveInRoot(dir, cleanPath(`/${subdir}`));
  if (!stat) throw notFound(`error setting git context, ${subdir} not found in ${shown}${ref ? ` at ${ref}` : ''}`);
  if (!stat.isDirectory()) throw invalidArgument(`error setting git context, not a directory: ${subdir}`);
  return abs;
}

interface GitResult {
  code: number;
  output: string;
}

function checked(what: string, failed: (what: string, output: string) => CtrError): (result: GitResult) => void {
  return (result) => {
    if (result.code !== 0) throw failed(what, result.output);
  };
}

/**
 * The caller's environment without what would point git at another repository (a `ctr build`
 * run from a git hook has GIT_DIR set), never prompting — ssh's host key question included.
 */
function gitEnvironment(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^GIT_(DIR|WORK_TREE|INDEX_FILE|OBJECT_DIRECTORY|ALTERNATE_OBJECT_DIRECTORIES|COMMON_DIR|NAMESPACE|PREFIX)$/.test(name)));
  return { ...env, GIT_PROTOCOL_FROM_USER: '0', GIT_TERMINAL_PROMPT: '0', GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes' };
}

/** `git <args>` in `cwd`, its output (both streams, the last few KiB) and exit code; it never prompts. */
function runGit(args: string[], cwd: string, signal: AbortSignal): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['-c', 'protocol.file.allow=never', ...args], {
      cwd,
      signal,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: gitEnvironment(),
    });
    let output = '';
    const collect = (text: string): void => void (output = (output + text).slice(-4000));
    child.stdout.setEncoding('utf8').on('data', collect);
    child.stderr.setEncoding('utf8').on('data', collect);
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (signal.aborted) reject(aborted(signal, 'fetching the git context'));
      else reject(error.code === 'ENOENT' ? unavailable("unable to find 'git'", { hint: 'Install git to build from a git repository.' }) : error);
    });
    child.on('close', (code) => resolve({ code: code ?? -1, output: output.trim() }));
  });
}

// ---- http(s) --------------------------------------------------------------------------------

/** dockerd's acceptable remote context types (builder/remotecontext's acceptableRemoteMIME). */
const ACCEPTABLE_TYPE = /application\/(?:(?:x-)?tar|octet-stream|(?:x-)?(?:gzip|bzip2?|xz))|text\/plain/;

async function downloadContext(url: string, dir: string, options: RemoteContextOptions): Promise<string> {
  const { signal } = options;
  const shown = withoutCredentials(url);
  const what = `${options.client ? 'unable to download' : 'error downloading'} remote context ${shown}`;
  let response: Response;
  try {
    response = await (options.fetch ?? getUrl)(url, { signal, redirect: 'follow' });
  } catch (error) {
    throw signal.aborted ? aborted(signal, `the download of ${shown}`) : fetchFailed(what, error);
  }
  if (response.status >= 400) throw await statusError(response, shown, signal, what);
  const body = response.body ? Readable.fromWeb(response.body as ReadableStream<Uint8Array>) : Readable.from([]);
  try {
    return await unpackContext(body, response.headers.get('content-type') ?? '', dir, shown, options);
  } finally {
    // A body refused or not read to its end would hold its connection open.
    body.destroy();
  }
}

/** The downloaded `body` as a context in `dir`: a tar, or a Dockerfile by its type or its bytes. */
async function unpackContext(body: Readable, declared: string, dir: string, shown: string, options: RemoteContextOptions): Promise<string> {
  const { head, whole: all } = await peekStream(body, 512);
  const detecting = `error detecting content type for remote ${shown}`;
  if (head.length === 0) throw invalidArgument(`${detecting}: empty response`);
  if (compressionOf(head) === undefined) {
    // Servers often call a file without an extension octet-stream: then the bytes say what it is.
    const type = declared === '' || /^application\/octet-stream/i.test(declared) ? sniffedType(head) : declared.toLowerCase();
    const accepted = ACCEPTABLE_TYPE.exec(type)?.[0];
    if (accepted === undefined) throw invalidArgument(`${detecting}: unsupported Content-Type "${declared || type}"`, { hint: REMOTE_KINDS });
    if (accepted === 'text/plain') return dockerfileContext(all, dir, options.dockerfile ?? 'Dockerfile', shown, options.signal);
  }
  try {
    await extractContextTar(all, dir, options.signal);
  } catch (error) {
    if (tarErrorReason(error) !== 'header') throw error;
    throw invalidArgument(`unsupported remote context ${shown}: ${(error as Error).message}`, { hint: REMOTE_KINDS, cause: error });
  }
  return dir;
}

const REMOTE_KINDS = 'A remote context is a tar (plain, gzip, bzip2, xz or zstd), a plain-text Dockerfile, or a git repository.';

/** A downloaded Dockerfile as the only file of the context, under the name the build reads it by. */
async function dockerfileContext(body: Readable, dir: string, name: string, url: string, signal: AbortSignal): Promise<string> {
  await writeContextDockerfile(body, dir, name, `the Dockerfile at ${url}`, signal);
  return dir;
}

/** Go's `http.DetectContentType` as far as it matters here: HTML and XML, binary, or plain text. */
function sniffedType(head: Buffer): string {
  const text = head.toString('latin1');
  if (/^\s*<(?:!doctype html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|!--)[\s>]/i.test(text)) return 'text/html';
  if (/^\s*<\?xml/.test(text)) return 'text/xml';
  // Go's binary bytes: control characters other than tab, newlines, form feed, carriage return and escape.
  return head.some((b) => b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f)) ? 'application/octet-stream' : 'text/plain';
}
