import { fsyncDir } from './fs-util';

/**
 * fsync of one directory as a group commit: callers that ask while an fsync is running
 * share the single one queued behind it. Each call resolves only after an fsync that began
 * after the call, so every entry change (rename, unlink) made before it is durable — the
 * same guarantee as an fsync per caller, with one disk flush for a burst of publishes.
 */
export class DirectorySync {
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly dir: string) {}

  sync(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    if (this.running === undefined) return this.start();
    // The fsync in flight may have begun before the caller's change: one more, after it.
    const queued = this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.start();
      });
    this.queued = queued;
    return queued;
  }

  private start(): Promise<void> {
    const run = fsyncDir(this.dir).finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }
}
