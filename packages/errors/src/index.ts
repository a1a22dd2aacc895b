/**
 * One error type for every ctr package.
 *
 * Callers branch on `code`, never on `instanceof` (two copies of this package in one
 * process would break `instanceof`; a code survives that, and survives JSON over the API).
 * The message is for a person: it says what was wrong and, in `hint`, what to do about it.
 * Wrap with `cause` to add context without losing the original.
 */

export const ErrorCodes = [
  'NotFound',
  'AlreadyExists',
  'Conflict',
  'InvalidArgument',
  'DigestMismatch',
  'Unauthorized',
  'Denied',
  'TooManyRequests',
  'Unavailable',
  'Unsupported',
  'Aborted',
  'ResourceExhausted',
  'Internal',
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

export interface CtrErrorOptions {
  /** What the user can do about it, shown after the message. */
  hint?: string;
  /** The lower-level error this one adds context to. */
  cause?: unknown;
  /** Structured facts about the failure (a digest, a path, an HTTP status…). */
  details?: Record<string, unknown>;
}

export class CtrError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: CtrErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = `CtrError[${code}]`;
    this.code = code;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }

  /** The message followed by the hint, as a CLI shows it. */
  describe(): string {
    return this.hint ? `${this.message}\n${this.hint}` : this.message;
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string; details?: Record<string, unknown> } {
    const out: { code: ErrorCode; message: string; hint?: string; details?: Record<string, unknown> } = {
      code: this.code,
      message: this.message,
    };
    if (this.hint) out.hint = this.hint;
    if (Object.keys(this.details).length > 0) out.details = this.details;
    return out;
  }
}

function hasCode(error: unknown, code: ErrorCode): boolean {
  return isCtrError(error) && error.code === code;
}

/** True for any ctr error, even one made by another copy of this package. */
export function isCtrError(error: unknown): error is CtrError {
  if (!(error instanceof Error)) return false;
  const shape = error as Error & { code?: unknown; describe?: unknown };
  return (
    typeof shape.code === 'string' &&
    (ErrorCodes as readonly string[]).includes(shape.code) &&
    typeof shape.describe === 'function'
  );
}

export const isNotFound = (e: unknown): boolean => hasCode(e, 'NotFound');

/** For `.catch` on what acts on something found a moment before: one gone meanwhile is nothing left to do (undefined); any other error still fails. */
export function unlessNotFound(error: unknown): undefined {
  if (isNotFound(error)) return undefined;
  throw error;
}
export const isAlreadyExists = (e: unknown): boolean => hasCode(e, 'AlreadyExists');
export const isConflict = (e: unknown): boolean => hasCode(e, 'Conflict');
export const isInvalidArgument = (e: unknown): boolean => hasCode(e, 'InvalidArgument');
export const isDigestMismatch = (e: unknown): boolean => hasCode(e, 'DigestMismatch');
export const isUnauthorized = (e: unknown): boolean => hasCode(e, 'Unauthorized');
export const isUnavailable = (e: unknown): boolean => hasCode(e, 'Unavailable');
export const isAborted = (e: unknown): boolean => hasCode(e, 'Aborted');

export const notFound = (message: string, options?: CtrErrorOptions): CtrError =>
  new CtrError('NotFound', message, options);
export const alreadyExists = (message: string, options?: CtrErrorOptions): CtrError =>
  new CtrError('AlreadyExists', message, options);
export const conflict = (message: string, options?: CtrErrorOptions): CtrError =>
  new CtrError('Conflict', message, options);
export const invalidArgument = (message: string, options?: CtrErrorOptions): CtrError =>
  new CtrError('InvalidArgument', message, options);
export const digestMismatch = (message: string, options?: CtrErrorOptions): CtrError =>
  new CtrError('DigestMismatch', message, options);
export const unavailable = (message: string, options?: CtrErrorOptions): CtrError =>
  new CtrError('Unavailable', message, options);
export const unsupported = (message: string, options?: CtrErrorOptions): CtrError =>
  new CtrError('Unsupported', message, options);
export const internal = (message: string, options?: CtrErrorOptions): CtrError =>
  new CtrError('Internal', message, options);

/**
 * The error an AbortSignal stopped an operation with, as a CtrError.
 * Call it where a long operation notices `signal.aborted`.
 */
export function aborted(signal: AbortSignal | undefined, what: string): CtrError {
  return new CtrError('Aborted', `${what} was cancelled`, { cause: signal?.reason });
}

/** Throw the Aborted error if the signal has fired; call between steps of long work. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw aborted(signal, what);
}

/** A system call's error as Node gives it: the errno's name, and the path when the call took one. */
interface SystemError {
  code?: unknown;
  syscall?: unknown;
  path?: unknown;
  cause?: unknown;
}

/**
 * The disk filled: ENOSPC (or EDQUOT, a quota met) in `error` or the errors it wraps, as one
 * ResourceExhausted error in the kernel's words with the file, as moby's errors are
 * (`write /var/lib/…: no space left on device`), followed by what to do: in the message
 * itself, which every client shows (docker's CLI through ctrd too). `where` names the file written when
 * the error cannot (a write(2) to an open file carries no path); else the errno's own path;
 * without either, `context` (what the caller was doing) or a wrapper's message says it.
 * Undefined for any other error.
 */
export function noSpaceLeft(error: unknown, where?: string, context?: string): CtrError | undefined {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 8; e = (e as SystemError).cause, depth++) {
    const { code, syscall, path } = e as SystemError;
    if (code === 'ResourceExhausted' && isCtrError(e)) return e;
    if (code !== 'ENOSPC' && code !== 'EDQUOT') continue;
    const place = where ?? (typeof path === 'string' ? path : undefined);
    const call = typeof syscall === 'string' ? syscall : 'write';
    const words = code === 'EDQUOT' ? 'disk quota exceeded' : 'no space left on device';
    const remedy = `free ${place ? `space on the filesystem holding ${place}` : 'disk space'} (remove unused containers, images, volumes and build cache: system prune) and retry`;
    // Without a file to name, what the caller (or a wrapper) says it was doing names the write.
    const doing = place !== undefined ? undefined : (context ?? (e !== error && error instanceof Error ? error.message : undefined));
    const said = doing === undefined ? `${call}${place ? ` ${place}` : ''}: ${words}` : doing.includes(words) ? doing : `${doing}: ${words}`;
    return new CtrError('ResourceExhausted', `${said}: ${remedy}`, { cause: error, details: place ? { path: place } : {} });
  }
  return undefined;
}

/**
 * Turn anything thrown into a CtrError, keeping CtrErrors as they are — except a full disk,
 * which becomes ResourceExhausted (`noSpaceLeft`) whatever wrapped it as Internal.
 */
export function asCtrError(error: unknown, code: ErrorCode = 'Internal', context?: string): CtrError {
  if (isCtrError(error) && error.code !== 'Internal') return error;
  const full = noSpaceLeft(error, undefined, context);
  if (full) return full;
  if (isCtrError(error)) return error;
  const text = error instanceof Error ? error.message : String(error);
  return new CtrError(code, context ? `${context}: ${text}` : text, { cause: error });
}

/**
 * Go's words for the errnos libuv words otherwise (EISDIR: libuv's "illegal operation on a
 * directory"): docker's and BuildKit's messages end with Go's, and ctr's say what theirs say.
 */
const GO_ERRNO_WORDS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'file exists',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EROFS: 'read-only file system',
};

/** What a failed file system call says, as Go's errors end: `no such file or directory`. */
export function goErrnoWords(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return GO_ERRNO_WORDS[code ?? ''] ?? /^E[A-Z]+: (.*?), \w+/.exec(message)?.[1] ?? message;
}

/** A failed call as Go's PathError prints it: `mkdir /out: not a directory`. */
export function goPathError(error: unknown, fallbackPath: string): string {
  const { syscall, path } = error as NodeJS.ErrnoException;
  return `${syscall ?? 'open'} ${path ?? fallbackPath}: ${goErrnoWords(error)}`;
}
