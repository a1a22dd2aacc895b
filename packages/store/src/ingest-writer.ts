import type { FileHandle } from 'node:fs/promises';

/** Bytes gathered before a write starts: fewer, larger writes (each is a thread-pool hand-off). */
const MIN_WRITE_BYTES = 1024 * 1024;
/** Bytes queued behind a write in flight before the reader is made to wait (backpressure). */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** Buffers per writev; under the kernel's IOV_MAX (1024) so one call takes them all. */
const MAX_QUEUED_BUFFERS = 512;

/**
 * Writes chunks to an open file behind the reader: chunks are queued until about a MiB has
 * gathered, then go out in one writev in the thread pool while the next ones are hashed and
 * queued. Network chunks are written as they came (no concatenation copy), a few large
 * syscalls instead of one per chunk. A failed write is reported by the next `add` or by `flush`.
 */
export class IngestWriter {
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private inFlight: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;

  constructor(private readonly handle: FileHandle) {}

  /** Queue `bytes` for writing; waits only when too much is queued behind the write in flight. */
  async add(bytes: Uint8Array): Promise<void> {
    this.check();
    this.queue.push(bytes);
    this.queuedBytes += bytes.length;
    if (this.inFlight === undefined) {
      if (this.queuedBytes >= MIN_WRITE_BYTES || this.queue.length >= MAX_QUEUED_BUFFERS) this.start();
    } else if (this.queuedBytes >= MAX_QUEUED_BYTES || this.queue.length >= MAX_QUEUED_BUFFERS) {
      await this.inFlight;
    }
    this.check();
  }

  /** Resolve when everything queued is in the file; throws the first write failure. */
  async flush(): Promise<void> {
    while (this.inFlight !== undefined) await this.inFlight;
    this.check();
    if (this.queue.length > 0) {
      this.start();
      await this.flush();
    }
  }

  /**
   * After a failure elsewhere (the source broke, was cut off, sent too much): write what is
   * queued — a valid prefix of the stream, kept for a resume — unless writing is what failed.
   * Never throws; the handle may be closed once it resolves.
   */
  async settle(): Promise<void> {
    await this.flush().catch(() => undefined);
  }

  private start(): void {
    const batch = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    // Never rejects: a failure is kept for the reader, so nothing is left unhandled.
    this.inFlight = writeAll(this.handle, batch).then(
      () => {
        this.inFlight = undefined;
        if ((this.queuedBytes >= MIN_WRITE_BYTES || this.queue.length >= MAX_QUEUED_BUFFERS) && this.failure === undefined) this.start();
      },
      (error: unknown) => {
        this.failure ??= { error };
        this.inFlight = undefined;
      },
    );
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure.error;
  }
}

/** writev until every byte is written: a short write (a signal, a nearly full disk) must not lose the tail. */
async function writeAll(handle: FileHandle, buffers: Uint8Array[]): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    let { bytesWritten } = await handle.writev(rest);
    if (bytesWritten === 0) throw new Error('the file accepted no bytes');
    const left: Uint8Array[] = [];
    for (const buffer of rest) {
      if (bytesWritten >= buffer.length) {
        bytesWritten -= buffer.length;
      } else {
        left.push(bytesWritten > 0 ? buffer.subarray(bytesWritten) : buffer);
        bytesWritten = 0;
      }
    }
    rest = left;
  }
}
