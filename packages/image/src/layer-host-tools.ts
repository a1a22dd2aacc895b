import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CtrError, aborted, unavailable } from '@ctr/errors';

/**
 * What Node has no API for — extended attributes and device nodes — done by small host
 * tools, called by absolute path (never a PATH lookup that a container could influence), and
 * only when a layer actually needs them. xattrs go in one batched `setfattr --restore` per layer.
 */

const TOOL_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];
const PACKAGE: Record<string, string> = { setfattr: 'attr', getfattr: 'attr', mknod: 'coreutils', mkfifo: 'coreutils' };

function tool(name: string): string {
  for (const dir of TOOL_DIRS) {
    const candidate = `${dir}/${name}`;
    if (existsSync(candidate)) return candidate;
  }
  throw unavailable(`"${name}" is not installed, and this layer needs it`, {
    hint: `install the Debian package "${PACKAGE[name] ?? name}" (scripts/setup-host.sh does)`,
  });
}

interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function run(name: string, args: string[], input?: Buffer, signal?: AbortSignal): Promise<RunResult> {
  const file = tool(name);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) =>
      reject(signal?.aborted ? aborted(signal, name) : new CtrError('Internal', `could not run ${file}: ${error.message}`, { cause: error })),
    );
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

async function check(name: string, args: string[], input?: Buffer, signal?: AbortSignal): Promise<RunResult> {
  const result = await run(name, args, input, signal);
  if (result.code !== 0) {
    throw new CtrError('Internal', `${name} ${args.join(' ')} failed: ${result.stderr.trim() || `exit code ${result.code}`}`);
  }
  return result;
}

/** getfattr's quoting of file names: bytes outside printable ASCII, `\` and `=` as \ooo. */
function quotePath(path: string): string {
  let out = '';
  for (const byte of Buffer.from(path, 'utf8')) {
    if (byte <= 0x20 || byte >= 0x7f || byte === 0x5c || byte === 0x3d) out += `\\${byte.toString(8).padStart(3, '0')}`;
    else out += String.fromCharCode(byte);
  }
  return out;
}

function unquotePath(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && /^[0-7]{3}$/.test(text.slice(i + 1, i + 4))) {
      bytes.push(parseInt(text.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      bytes.push(...Buffer.from(text[i] as string, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export interface XattrTarget {
  path: string;
  xattrs: Record<string, Buffer>;
}

// Filesystems without xattr support, and user.* on symlinks, refuse; Docker ignores those too.
const IGNORED = /Operation not supported|Operation not permitted/;

/** Set extended attributes on many paths (never following a final symlink) with one process. */
export async function setXattrs(targets: readonly XattrTarget[], signal?: AbortSignal): Promise<void> {
  if (targets.length === 0) return;
  const lines: string[] = [];
  for (const target of targets) {
    lines.push(`# file: ${quotePath(target.path)}`);
    for (const [key, value] of Object.entries(target.xattrs)) {
      lines.push(`${key}=${value.length === 0 ? '""' : `0x${value.toString('hex')}`}`);
    }
    lines.push('');
  }
  const result = await run('setfattr', ['-h', '--restore=-'], Buffer.from(`${lines.join('\n')}\n`), signal);
  const problems = result.stderr.split('\n').filter((line) => line.trim() !== '' && !IGNORED.test(line));
  if (result.code !== 0 && problems.length > 0) {
    throw new CtrError('Internal', `setting extended attributes failed: ${problems.slice(0, 3).join('; ')}`);
  }
}

/** Every extended attribute under `dir` (symlinks not followed), by absolute path. */
export async function readXattrs(dir: string, signal?: AbortSignal): Promise<Map<string, Record<string, Buffer>>> {
  const result = await run('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', '--', dir], undefined, signal);
  if (result.code !== 0 && result.stdout.length === 0 && result.stderr.trim() !== '') {
    throw new CtrError('Internal', `reading extended attributes under ${dir} failed: ${result.stderr.trim()}`);
  }
  const out = new Map<string, Record<string, Buffer>>();
  let current: Record<string, Buffer> | undefined;
  for (const line of result.stdout.toString('latin1').split('\n')) {
    if (line.startsWith('# file: ')) {
      current = {};
      out.set(unquotePath(Buffer.from(line.slice(8), 'latin1').toString('utf8')), current);
      continue;
    }
    const equals = line.indexOf('=');
    if (current === undefined || equals <= 0) continue;
    const value = line.slice(equals + 1);
    current[line.slice(0, equals)] = value.startsWith('0x') ? Buffer.from(value.slice(2), 'hex') : Buffer.alloc(0);
  }
  return out;
}

/** mknod(2) for a character or block device (`kind` 'c' / 'b'), or a whiteout (c 0 0). */
export async function makeDevice(path: string, kind: 'c' | 'b', major: number, minor: number, mode: number, signal?: AbortSignal): Promise<void> {
  await check('mknod', ['-m', (mode & 0o7777).toString(8), '--', path, kind, String(major), String(minor)], undefined, signal);
}

export async function makeFifo(path: string, mode: number, signal?: AbortSignal): Promise<void> {
  await check('mkfifo', ['-m', (mode & 0o7777).toString(8), '--', path], undefined, signal);
}
