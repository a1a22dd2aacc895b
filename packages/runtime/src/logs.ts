import { promises as fs, watch, type FSWatcher } from 'node:fs';
import { invalidArgument } from '@ctr/errors';
import type { LogEntry, LogStream, LogsOptions } from './types';

/** One line of conmon's k8s-file log: `<RFC3339Nano> <stream> <P|F> <text>`. */
export interface LogRecord {
  time: string;
  stream: LogStream;
  /** `P`: the writer cut the line here, the rest follows in the next record. */
  partial: boolean;
  text: string;
}

export function parseLogRecord(line: string): LogRecord | undefined {
  const a = line.indexOf(' ');
  const b = line.indexOf(' ', a + 1);
  const c = line.indexOf(' ', b + 1);
  if (a < 0 || b < 0) return undefined;
  const stream = line.slice(a + 1, b);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tag = c < 0 ? line.slice(b + 1) : line.slice(b + 1, c);
  // conmon writes UTC as `+00:00`; Docker shows `Z`.
  const time = line.slice(0, a).replace(/[+-]00:00$/, 'Z');
  return { time, stream, partial: tag === 'P', text: c < 0 ? '' : line.slice(c + 1) };
}

/** Joins partial records back into lines, per stream. */
export class LineAssembler {
  private readonly pending: Record<LogStream, { time: string; text: string } | undefined> = { stdout: undefined, stderr: undefined };

  push(record: LogRecord): LogEntry | undefined {
    const held = this.pending[record.stream];
    const time = held?.time ?? record.time;
    const text = (held?.text ?? '') + record.text;
    if (record.partial) {
      this.pending[record.stream] = { time, text };
      return undefined;
    }
    this.pending[record.stream] = undefined;
    return { stream: record.stream, time, line: text };
  }
}

/** `since`/`until` as Docker takes them: a Date, an RFC 3339 string, or Unix seconds. */
export function toMillis(value: Date | string | number): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value * 1000;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw invalidArgument(`invalid time "${value}": use RFC 3339 or Unix seconds`);
  return ms;
}

/** Reads whole lines from a growing file, remembering where it stopped. */
class LineReader {
  private offset = 0;
  private rest = '';

  constructor(private readonly file: string) {}

  async next(): Promise<string[]> {
    let handle;
    try {
      handle = await fs.open(this.file, 'r');
    } catch {
      return [];
    }
    try {
      const lines: string[] = [];
      const buffer = Buffer.alloc(64 * 1024);
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        const parts = (this.rest + buffer.toString('utf8', 0, bytesRead)).split('\n');
        this.rest = parts.pop() ?? '';
        lines.push(...parts);
        if (lines.length > 4096) break;
      }
      return lines;
    } finally {
      await handle.close();
    }
  }
}

function waitForChange(file: string, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let watcher: FSWatcher | undefined;
    const done = (): void => {
      clearTimeout(timer);
      watcher?.close();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    try {
      watcher = watch(file, done);
      watcher.on('error', done);
    } catch {
      // The file may not exist yet; the timer still wakes us.
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * The lines of a container's log, like `docker logs`: filtered by stream and time, the
 * last `tail` of them, then (with `follow`) new ones as they are written, until the
 * container stops running and the file has been read to its end.
 */
export async function* readLogs(file: string, options: LogsOptions, isRunning: () => Promise<boolean>): AsyncGenerator<LogEntry> {
  const since = options.since !== undefined ? toMillis(options.since) : undefined;
  const until = options.until !== undefined ? toMillis(options.until) : undefined;
  const want = (e: LogEntry): boolean => {
    if (e.stream === 'stdout' && options.stdout === false) return false;
    if (e.stream === 'stderr' && options.stderr === false) return false;
    if (since === undefined && until === undefined) return true;
    const at = Date.parse(e.time);
    return (since === undefined || at >= since) && (until === undefined || at <= until);
  };
  if (options.tail !== undefined && (!Number.isInteger(options.tail) || options.tail < 0)) {
    throw invalidArgument(`invalid tail value: ${options.tail}`);
  }
  const reader = new LineReader(file);
  const assembler = new LineAssembler();
  const entries = (lines: string[]): LogEntry[] => {
    const out: LogEntry[] = [];
    for (const line of lines) {
      const record = parseLogRecord(line);
      const entry = record && assembler.push(record);
      if (entry && want(entry)) out.push(entry);
    }
    return out;
  };
  // The first pass keeps only the last `tail` entries, so memory stays bounded.
  const tail = options.tail;
  let first: LogEntry[] = [];
  for (let lines = await reader.next(); lines.length > 0; lines = await reader.next()) {
    first.push(...entries(lines));
    if (tail !== undefined && first.length > tail) first = first.slice(first.length - tail);
    if (tail === undefined) {
      yield* first;
      first = [];
    }
  }
  yield* tail === 0 ? [] : first;
  if (!options.follow) return;
  for (;;) {
    if (options.signal?.aborted) return;
    const running = await isRunning();
    const lines = await reader.next();
    yield* entries(lines);
    if (lines.length > 0) continue;
    if (!running) return;
    await waitForChange(file, 250, options.signal);
  }
}
