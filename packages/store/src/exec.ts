import { execFile } from 'node:child_process';
import { CtrError } from '@ctr/errors';

/** Run a host tool; a missing tool is Unavailable, a failure Internal with its stderr in details. */
export function run(cmd: string, args: string[], options: { signal?: AbortSignal | undefined; cwd?: string } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { ...(options.cwd ? { cwd: options.cwd } : {}), ...(options.signal ? { signal: options.signal } : {}) }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        return reject(new CtrError('Unavailable', `the ${cmd} command was not found`, { hint: `install the package that provides ${cmd}`, cause: error }));
      }
      if (code === 'ABORT_ERR') return reject(new CtrError('Aborted', `${cmd} was cancelled`, { cause: error }));
      reject(
        new CtrError('Internal', `${cmd} ${args.join(' ')} failed: ${stderr.trim() || error.message}`, {
          cause: error,
          details: { stderr: stderr.trim() },
        }),
      );
    });
  });
}
