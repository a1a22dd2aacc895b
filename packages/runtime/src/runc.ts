import { execFile } from 'node:child_process';
import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import { CtrError, internal } from '@ctr/errors';

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

  /**
   * Let a created container's process run. `runc start` only reads the container's
   * `exec.fifo` (which releases runc init into the user's process) and removes it; doing
   * that here saves starting a Go program on every container start. Falls back to
   * `runc start` when the fifo is not there (another runtime, or another layout).
   */
  async start(id: string): Promise<void> {
    const fifo = path.join(this.root, id, 'exec.fifo');
    let handle;
    try {
      // Non-blocking: opening a FIFO for reading must never hang if runc init died.
      handle = await fs.open(fifo, fsc.O_RDONLY | fsc.O_NONBLOCK);
    } catch {
      await this.run(['start', id]);
      return;
    }
    try {
      const byte = Buffer.alloc(1);
      const deadline = Date.now() + 10_000;
      for (;;) {
        const got = await handle.read(byte, 0, 1, null).then(
          (r) => r.bytesRead,
          (error: NodeJS.ErrnoException) => (error.code === 'EAGAIN' ? 0 : Promise.reject(error)),
        );
        if (got === 1) break;
        if (Date.now() > deadline) throw internal(`container ${id} did not start: runc init never opened its exec fifo`);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    } finally {
      await handle.close();
    }
    await fs.unlink(fifo);
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
