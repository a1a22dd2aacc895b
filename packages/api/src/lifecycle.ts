import { EventEmitter } from 'node:events';
import { AUTO_REMOVAL, type AttachIo, type ContainerInspect, type Engine } from '@ctr/engine';
import { isNotFound, unlessNotFound } from '@ctr/errors';
import type { WaitResponse } from './api-types';

/**
 * The WaitResponse of a wait that failed: StatusCode -1 and the reason, `Error` first as moby's
 * struct orders it (a clean exit has no `Error` at all: `{"StatusCode":0}`).
 */
export function waitFailed(error: unknown): WaitResponse {
  return { Error: { Message: (error as Error).message }, StatusCode: -1 };
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

interface PendingAttach {
  io: AttachIo;
  /** Called once all output has been delivered (or the start failed). */
  done(): void;
}

/** How often a waiter looks again at a container this daemon did not start itself. */
const POLL_MS = 250;

/**
 * What dockerd does around a container's process that the engine leaves to its caller:
 * streams attached before `start` (docker run attaches, then starts), `wait` for the next
 * exit or for removal, and `AutoRemove` once the container has exited and its output is out.
 */
export class Lifecycle {
  private readonly pending = new Map<string, PendingAttach[]>();
  private readonly signals = new EventEmitter();

  constructor(private readonly engine: Engine) {
    this.signals.setMaxListeners(0);
  }

  /** Streams for a container not running yet: they are connected when it starts. */
  attachLater(id: string, io: AttachIo, done: () => void): () => void {
    const entry: PendingAttach = { io, done };
    this.pending.set(id, [...(this.pending.get(id) ?? []), entry]);
    return () => {
      const rest = (this.pending.get(id) ?? []).filter((p) => p !== entry);
      if (rest.length > 0) this.pending.set(id, rest);
      else this.pending.delete(id);
    };
  }

  /** Start the container with whatever was attached to it, and watch for its exit. */
  async start(id: string, autoRemove: boolean): Promise<void> {
    const waiting = this.pending.get(id) ?? [];
    this.pending.delete(id);
    // One attach is the common case (docker run); more share the output through the first.
    const [first, ...others] = waiting;
    let attached: Promise<void> | undefined;
    try {
      ({ attached } = await this.engine.start(id, first?.io ?? {}));
    } catch (error) {
      for (const w of waiting) w.done();
      // The engine removed an AutoRemove one, as dockerd's failed start does: its waiters hear it.
      if (autoRemove) this.signals.emit(`removed:${id}`);
      throw error;
    }
    for (const other of others) {
      this.engine.attach(id, other.io).then(other.done, other.done);
    }
    const delivered = (attached ?? Promise.resolve()).catch(() => undefined).finally(() => first?.done());
    void this.watch(id, delivered, autoRemove);
  }

  private async watch(id: string, delivered: Promise<void>, autoRemove: boolean): Promise<void> {
    let status: WaitResponse;
    try {
      status = { StatusCode: (await this.engine.wait(id)).StatusCode };
    } catch (error) {
      status = waitFailed(error);
    }
    await delivered;
    this.signals.emit(`exit:${id}`, status);
    if (autoRemove) {
      await this.engine.remove(id, AUTO_REMOVAL).catch(() => undefined);
      this.signals.emit(`removed:${id}`);
    }
  }

  /** `POST /containers/{id}/wait`: resolves with the exit status per Docker's condition. */
  async wait(info: ContainerInspect, condition: WaitCondition, signal: AbortSignal): Promise<WaitResponse> {
    const id = info.Id;
    let status: WaitResponse = { StatusCode: info.State.ExitCode };
    const finishedAt = info.State.FinishedAt;
    // dockerd: `not-running` returns at once for a container that is not running; `next-exit`
    // waits for the next exit; `removed` of a created container (docker run --rm) needs its exit code.
    const created = info.State.Status === 'created';
    if (info.State.Running || condition === 'next-exit' || (condition === 'removed' && created)) {
      status = await this.until(`exit:${id}`, signal, async () => {
        const now = await this.engine.inspect(id).catch(unlessNotFound);
        if (!now) return { StatusCode: status.StatusCode };
        // A restarting container is running (dockerd's state), but its exit was one.
        const exited = !now.State.Running || now.State.Restarting;
        return exited && now.State.FinishedAt !== finishedAt ? { StatusCode: now.State.ExitCode } : undefined;
      });
    }
    if (condition === 'removed') {
      await this.until(`removed:${id}`, signal, async () =>
        this.engine.inspect(id).then(() => undefined, (error) => (isNotFound(error) ? true : Promise.reject(error))),
      );
    }
    return status;
  }

  /** Resolve on this daemon's own signal, or when `check` finds it happened some other way. */
  private until<T>(event: string, abort: AbortSignal, check: () => Promise<T | undefined>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (fn: () => void): void => {
        clearTimeout(timer);
        this.signals.off(event, onSignal);
        abort.removeEventListener('abort', onAbort);
        fn();
      };
      const onSignal = (value: T): void => finish(() => resolve(value));
      const onAbort = (): void => finish(() => reject(abort.reason));
      const poll = (): void => {
        check().then(
          (value) => {
            if (value !== undefined) finish(() => resolve(value));
            else timer = setTimeout(poll, POLL_MS);
          },
          (error) => finish(() => reject(error)),
        );
      };
      this.signals.on(event, onSignal);
      abort.addEventListener('abort', onAbort, { once: true });
      timer = setTimeout(poll, POLL_MS);
    });
  }
}
