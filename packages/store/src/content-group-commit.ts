/**
 * An action (an fsync of the blobs directory) run as a group commit: callers that ask while
 * it is running share the single run queued behind it. Each call resolves only after a run
 * that began after the call, so every change made before it (a rename, an unlink) is
 * covered — the guarantee of one fsync per caller, with one disk flush for a burst of them.
 */
export class GroupCommit {
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly action: () => Promise<void>) {}

  run(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    if (this.running === undefined) return this.start();
    // The run in flight may have begun before the caller's change: one more, after it.
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
    const run = this.action().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }
}
