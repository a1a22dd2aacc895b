/** Go's words for the errnos libuv words otherwise (EACCES: Go's "permission denied", libuv's too; EISDIR: libuv's "illegal operation on a directory"). */
const GO_ERRNO_WORDS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'file exists',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EROFS: 'read-only file system',
};

/** What a failed file system call says, as Go's errors end (`no such file or directory`): BuildKit's messages carry them. */
export function goErrorWords(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return GO_ERRNO_WORDS[code ?? ''] ?? /^E[A-Z]+: (.*?), \w+/.exec(message)?.[1] ?? message;
}

/** A failed call as Go's PathError prints it: `mkdir /out: not a directory`. */
export function goPathError(error: unknown, fallbackPath: string): string {
  const { syscall, path } = error as NodeJS.ErrnoException;
  return `${syscall ?? 'open'} ${path ?? fallbackPath}: ${goErrorWords(error)}`;
}
