import { constants as fsc, promises as fs, watch, type FSWatcher } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import { type CtrError, invalidArgument, unsupported } from '@ctr/errors';
import { rfc3339Nano, rfc3339Nanos, toNanos } from '@ctr/image';
import { logFifo } from './log-writer';
import type { LogEntry, LogStream, LogsOptions } from './types';

/** One line of conmon's k8s-file log: `<RFC3339Nano> <stream> <P|F> <text>`. */
export interface LogRecord {
  time: string;
  stream: LogStream;
  /** `P`: the writer cut the line here, the rest follows in the next record. */
  partial: boolean;
  text: string;
}

/** moby's ErrReadLogsNotSupported: the container keeps no log (`--log-driver none`). */
export function logsNotReadable(): CtrError {
  return unsupported('configured logging driver does not support reading');
}

export function parseLogRecord(line: string): LogRecord | undefined {
  const a = line.indexOf(' ');
  const b = line.indexOf(' ', a + 1);
  const c = line.indexOf(' ', b + 1);
  if (a < 0 || b < 0) return undefined;
  const stream = line.slice(a + 1, b);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tag = c < 0 ? line.slice(b + 1) : line.slice(b + 1, c);
  const written = line.slice(0, a);
  // conmon writes its local time (UTC as `+00:00`); Docker shows UTC, as `Z`.
  const utc = written.replace(/[+-]00:00$/, 'Z');
  const time = utc.endsWith('Z') ? utc : utcTime(written);
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

/** A time conmon wrote in a zone other than UTC, in UTC; as written if it does not parse. */
function utcTime(time: string): string {
  const nanos = rfc3339Nanos(time);
  return nanos === undefined ? time : rfc3339Nano(nanos);
}

/** Lines at most read at once: what the first pass keeps stays bounded. */
const LINES_AT_ONCE = 4096;

/** Splits text that arrives in pieces into whole lines. */
class LineSplitter {
  private rest = '';

  push(text: string): string[] {
    const parts = (this.rest + text).split('\n');
    this.rest = parts.pop() ?? '';
    return parts;
  }

  reset(): void {
    this.rest = '';
  }
}

/** What reading the current log gave: whole lines, or the file it was rotated away from (now read to its end). */
type CurrentRead = { lines: string[]; rotatedFrom?: undefined } | { lines: []; rotatedFrom: number };

/**
 * The log file being written, read through its open descriptor from where the last read
 * stopped. Rotation (conmon's own at `max-size`, or the writer's) puts a new file under the
 * name: once the old one is read to its end, the new one is opened and the caller told.
 */
class CurrentLog {
  private handle: FileHandle | undefined;
  /** The inode of the file read: it tells it from the files it may be rotated to. */
  ino: number | undefined;
  private offset = 0;
  private readonly lines = new LineSplitter();
  private readonly buffer = Buffer.alloc(64 * 1024);
  /** A character split between two reads is decoded once whole. */
  private text = new TextDecoder();

  constructor(private readonly file: string) {}

  /** Open the file under the name now, if there is one. */
  async open(): Promise<void> {
    this.ino = undefined;
    const handle = await fs.open(this.file, 'r').catch(() => undefined);
    if (!handle) return;
    try {
      this.ino = (await handle.stat()).ino;
      this.handle = handle;
    } catch {
      await handle.close();
    }
  }

  /** The next whole lines written; none once the writer is (for now) at its end. */
  async next(): Promise<CurrentRead> {
    if (!this.handle) await this.open();
    if (!this.handle) return { lines: [] };
    const lines = await this.read();
    if (lines.length > 0) return { lines };
    const now = await fs.stat(this.file).catch(() => undefined);
    if (!now || now.ino === this.ino) return { lines: [] };
    // Rotated: the old file is complete once renamed; what was written to it last is read first.
    const last = await this.read();
    if (last.length > 0) return { lines: last };
    const rotatedFrom = this.ino as number;
    await this.close();
    this.offset = 0;
    this.lines.reset();
    this.text = new TextDecoder();
    await this.open();
    return { lines: [], rotatedFrom };
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  private async read(): Promise<string[]> {
    const handle = this.handle as FileHandle;
    const lines: string[] = [];
    for (;;) {
      const { bytesRead } = await handle.read(this.buffer, 0, this.buffer.length, this.offset);
      if (bytesRead === 0) break;
      this.offset += bytesRead;
      lines.push(...this.lines.push(this.text.decode(this.buffer.subarray(0, bytesRead), { stream: true })));
      if (lines.length > LINES_AT_ONCE) break;
    }
    return lines;
  }
}

/** A file the log was rotated to (`<log>.<n>`, or `<log>.<n>.gz`; n = 1 the newest), open for reading. */
interface RotatedFile {
  handle: FileHandle;
  gzip: boolean;
  /** A plain file's inode: the current file it was (a gzipped one is a copy). */
  ino?: number;
}

/**
 * The files `file` was rotated to, oldest first, opened at once so that a rotation from here
 * on renames nothing under the reader: `.<n>` unless only its gzipped `.<n>.gz` is there, as
 * moby reads them. A file opened twice under two names (a rotation while they were opened), or
 * that is the one open as the current log, is left out.
 */
async function openRotated(file: string, currentIno: number | undefined): Promise<RotatedFile[]> {
  const base = path.basename(file);
  const dir = path.dirname(file);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const indexes = new Set<number>();
  for (const name of names) {
    const match = name.startsWith(`${base}.`) ? /^(\d+)(\.gz)?$/.exec(name.slice(base.length + 1)) : null;
    if (match) indexes.add(Number(match[1]));
  }
  const seen = new Set<number | undefined>([currentIno]);
  const files: RotatedFile[] = [];
  for (const index of [...indexes].sort((a, b) => b - a)) {
    const plain = path.join(dir, `${base}.${index}`);
    // Compressed meanwhile: the gzipped copy is complete before the plain file goes.
    const opened = await openFile(plain, false).then((found) => found ?? openFile(`${plain}.gz`, true));
    if (!opened) continue;
    if (opened.ino !== undefined && seen.has(opened.ino)) {
      await opened.handle.close();
      continue;
    }
    seen.add(opened.ino);
    files.push(opened);
  }
  return files;
}

async function openFile(file: string, gzip: boolean): Promise<RotatedFile | undefined> {
  try {
    const handle = await fs.open(file, 'r');
    return { handle, gzip, ...(gzip ? {} : { ino: (await handle.stat()).ino }) };
  } catch {
    return undefined;
  }
}

/** The whole lines of a rotated file, in batches; it is closed once read (or left). */
async function* rotatedLines(rotated: RotatedFile): AsyncGenerator<string[]> {
  const lines = new LineSplitter();
  try {
    const raw = rotated.handle.createReadStream({ autoClose: false, start: 0 });
    const stream = rotated.gzip ? raw.pipe(createGunzip()) : raw;
    stream.setEncoding('utf8');
    for await (const chunk of stream as AsyncIterable<string>) yield lines.push(chunk);
  } catch {
    // A gzip cut short (being written when it was opened) gives what it has.
  } finally {
    await rotated.handle.close();
  }
}

async function closeAll(files: readonly RotatedFile[]): Promise<void> {
  await Promise.all(files.map((f) => f.handle.close().catch(() => undefined)));
}

/**
 * A follow's current file was rotated away from `from` (read to its end): the files written
 * since, when a rotation came before it read the new one (several at once, or a slow reader).
 * They are found by `from`'s inode among the rotated files. When that is gone and none is
 * gzipped, it was deleted as the oldest, after every file older than it: all that are left
 * are newer, and read. A gzipped copy cannot be told from the others by its inode: with one
 * among them, the files are skipped, as moby skips them.
 */
async function rotatedSince(file: string, from: number, currentIno: number | undefined): Promise<RotatedFile[]> {
  const files = await openRotated(file, currentIno);
  const at = files.findIndex((f) => f.ino === from);
  const firstNewer = at >= 0 ? at + 1 : files.some((f) => f.gzip) ? files.length : 0;
  await closeAll(files.slice(0, firstNewer));
  return files.slice(firstNewer);
}

/**
 * Resolves at the next change in the log's directory (a write to the current file, whichever
 * it is, or a rotation), after `ms` at the latest, or once `signal` aborts.
 */
function waitForChange(dir: string, ms: number, signal?: AbortSignal): Promise<void> {
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
      watcher = watch(dir, done);
      watcher.on('error', done);
    } catch {
      // The container is being removed; the timer still wakes us.
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** How long `logs` waits at most for a writer to drain what an exited container said last. */
const WRITER_DRAIN_MS = 5000;

/**
 * A rotating log's writer (`log-writer.ts`) may still be writing what conmon said last when
 * the container has exited, as dockerd's log copier may: `docker logs` shows it all, so the
 * read waits for it. The writer holds the FIFO open for reading until it is done: opening the
 * FIFO to write without waiting fails (ENXIO) once no one reads it. A container that runs has
 * its writer running too, and nothing to wait for.
 */
async function writerDone(fifo: string, isRunning: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WRITER_DRAIN_MS;
  for (let checkedRunning = false; Date.now() < deadline; ) {
    let probe: FileHandle;
    try {
      probe = await fs.open(fifo, fsc.O_WRONLY | fsc.O_NONBLOCK);
    } catch {
      return;
    }
    await probe.close();
    if (!checkedRunning) {
      if (await isRunning()) return;
      checkedRunning = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** How often a follow looks at the file when no change was signalled. */
const FOLLOW_POLL_MS = 250;

/**
 * How long after `until` a follow goes on reading: conmon stamps a line before it writes it,
 * so one stamped just before `until` may reach the file just after.
 */
const UNTIL_GRACE_MS = 200;

/**
 * The lines of a container's log, like `docker logs`: across the files it was rotated to
 * (oldest first, gzipped ones too), filtered by stream and time, the last `tail` of them,
 * then (with `follow`) new ones as they are written, until the container stops running and
 * the file has been read to its end — or, with `until`, until a line written after it comes
 * (where docker stops) or the clock has passed it, since no line written later can be before it.
 */
export async function* readLogs(file: string, options: LogsOptions, isRunning: () => Promise<boolean>): AsyncGenerator<LogEntry> {
  // In nanoseconds, both inclusive, as moby's log readers compare them (Before(since), After(until)).
  const since = options.since !== undefined ? toNanos(options.since) : undefined;
  const until = options.until !== undefined ? toNanos(options.until) : undefined;
  const untilMs = until === undefined ? undefined : Number(until / 1_000_000n);
  let pastUntil = false;
  const want = (e: LogEntry): boolean => {
    if (since === undefined && until === undefined) return e.stream === 'stdout' ? options.stdout !== false : options.stderr !== false;
    const at = rfc3339Nanos(e.time);
    if (at === undefined) return false;
    if (until !== undefined && at > until) {
      pastUntil = true;
      return false;
    }
    if (e.stream === 'stdout' && options.stdout === false) return false;
    if (e.stream === 'stderr' && options.stderr === false) return false;
    return since === undefined || at >= since;
  };
  if (options.tail !== undefined && (!Number.isInteger(options.tail) || options.tail < 0)) {
    throw invalidArgument(`invalid tail value: ${options.tail}`);
  }
  const current = new CurrentLog(file);
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
  async function* fromRotated(files: RotatedFile[]): AsyncGenerator<LogEntry[]> {
    try {
      for (const rotated of files) for await (const lines of rotatedLines(rotated)) yield entries(lines);
    } finally {
      await closeAll(files);
    }
  }
  /** Entries from the current file to its end for now; one rotated meanwhile is followed, with what it was rotated to. */
  async function* fromCurrent(): AsyncGenerator<LogEntry[]> {
    for (;;) {
      const read = await current.next();
      if (read.rotatedFrom !== undefined) yield* fromRotated(await rotatedSince(file, read.rotatedFrom, current.ino));
      else if (read.lines.length > 0) yield entries(read.lines);
      else return;
    }
  }
  // A log whose writer still drains what the container said last is read once it has.
  await writerDone(logFifo(file), isRunning);
  try {
    // The current file is opened first: a rotation after that shows it among the rotated ones, where it is left out.
    await current.open();
    const older = await openRotated(file, current.ino);
    // The first pass keeps only the last `tail` entries, so memory stays bounded.
    const tail = options.tail;
    let first: LogEntry[] = [];
    const take = (batch: LogEntry[]): LogEntry[] => {
      if (tail === undefined) return batch;
      first.push(...batch);
      if (first.length > tail) first = first.slice(first.length - tail);
      return [];
    };
    for await (const batch of fromRotated(older)) yield* take(batch);
    for await (const batch of fromCurrent()) yield* take(batch);
    yield* tail === 0 ? [] : first;
    first = [];
    if (!options.follow) return;
    for (;;) {
      if (options.signal?.aborted || pastUntil) return;
      const readAt = Date.now();
      const running = await isRunning();
      let read = false;
      for await (const batch of fromCurrent()) {
        read = true;
        yield* batch;
      }
      if (read) continue;
      if (!running) return;
      if (untilMs !== undefined && readAt > untilMs + UNTIL_GRACE_MS) return;
      const wait = untilMs === undefined ? FOLLOW_POLL_MS : Math.max(1, Math.min(FOLLOW_POLL_MS, untilMs + UNTIL_GRACE_MS - Date.now() + 1));
      await waitForChange(path.dirname(file), wait, options.signal);
    }
  } finally {
    await current.close();
  }
}
