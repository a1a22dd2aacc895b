import type { ContainerLogEntry } from '@ctr/engine';

/** One container's log, and whose it is. */
export interface LogSource {
  service: string;
  container: string;
  entries: AsyncIterable<ContainerLogEntry>;
}

export interface SourcedEntry {
  source: LogSource;
  entry: ContainerLogEntry;
}

/** An RFC 3339 UTC time with its fraction padded to nanoseconds, so that times compare as strings (Go trims trailing zeros). */
function sortableTime(time: string): string {
  const match = /^([^.]*?)(?:\.(\d+))?Z$/.exec(time);
  return match ? `${match[1]}.${(match[2] ?? '').padEnd(9, '0')}Z` : time;
}

/**
 * The logs of finished reads merged into one, oldest line first (a line's own container's order
 * kept on equal times): each source is read one line ahead, nothing more is held.
 */
export async function* mergeByTime(sources: readonly LogSource[]): AsyncGenerator<SourcedEntry> {
  const readers = sources.map((source) => ({ source, iterator: source.entries[Symbol.asyncIterator]() }));
  const heads = await Promise.all(readers.map(async (reader) => ({ reader, next: await reader.iterator.next() })));
  try {
    for (;;) {
      let oldest: (typeof heads)[number] | undefined;
      for (const head of heads) {
        if (head.next.done) continue;
        if (!oldest || sortableTime(head.next.value.time) < sortableTime((oldest.next as IteratorYieldResult<ContainerLogEntry>).value.time)) oldest = head;
      }
      if (!oldest || oldest.next.done) return;
      yield { source: oldest.reader.source, entry: oldest.next.value };
      oldest.next = await oldest.reader.iterator.next();
    }
  } finally {
    await Promise.all(heads.filter((head) => !head.next.done).map((head) => head.reader.iterator.return?.()));
  }
}

/**
 * Followed logs interleaved as their lines come: each source is read on its own, and the
 * merged log ends once every source has (the followed containers have all stopped). Closing
 * the merged log early aborts `stop`, which the sources' reads must be given.
 */
export async function* interleave(sources: readonly LogSource[], stop: AbortController): AsyncGenerator<SourcedEntry> {
  const queue: SourcedEntry[] = [];
  let wake: (() => void) | undefined;
  let running = sources.length;
  let failure: { error: unknown } | undefined;
  const wakeReader = (): void => {
    wake?.();
    wake = undefined;
  };
  for (const source of sources) {
    void (async () => {
      try {
        for await (const entry of source.entries) {
          queue.push({ source, entry });
          wakeReader();
        }
      } catch (error) {
        // The reads end with an abort once the merged log is closed or its caller stops it: no failure then.
        if (!stop.signal.aborted) failure ??= { error };
      } finally {
        running -= 1;
        wakeReader();
      }
    })();
  }
  try {
    for (;;) {
      while (queue.length > 0) yield queue.shift() as SourcedEntry;
      if (failure) throw failure.error;
      if (running === 0) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stop.abort();
  }
}
