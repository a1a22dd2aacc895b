import { execFile } from 'node:child_process';
import { CtrError } from '@ctr/errors';

/** The OCI runtime binary, with its state kept under our run directory (`--root`). */
export class Runc {
  constructor(
    readonly binary: string,
    readonly root: string,
  ) {}

  /** Run one runc command; its error text becomes a CtrError that keeps runc's words. */
  run(args: string[], signal?: AbortSignal): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        this.binary,
        [`--root=${this.root}`, ...args],
        { signal, env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' }, maxBuffer: 4 * 1024 * 1024 },
        (error, stdout, stderr) => {
          if (!error) return resolve(stdout);
          const text = (stderr || error.message).trim().replace(/^time="[^"]*" level=\w+ msg="(.*)"$/m, '$1');
          const code = /does not exist/.test(text) ? 'NotFound' : /not running|is paused|is stopped|cannot .* (created|stopped|running)/.test(text) ? 'Conflict' : 'Internal';
          reject(new CtrError(code, `runc ${args[0]}: ${text}`, { cause: error }));
        },
      );
    });
  }

  start(id: string): Promise<string> {
    return this.run(['start', id]);
  }

  kill(id: string, signal: string): Promise<string> {
    return this.run(['kill', id, signal]);
  }

  pause(id: string): Promise<string> {
    return this.run(['pause', id]);
  }

  resume(id: string): Promise<string> {
    return this.run(['resume', id]);
  }

  delete(id: string, force = false): Promise<string> {
    return this.run(force ? ['delete', '--force', id] : ['delete', id]);
  }

  async state(id: string): Promise<{ status: string; pid: number }> {
    const out = JSON.parse(await this.run(['state', id])) as { status: string; pid: number };
    return { status: out.status, pid: out.pid };
  }
}
