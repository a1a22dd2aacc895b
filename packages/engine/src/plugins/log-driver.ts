import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { asCtrError, invalidArgument, internal } from '@ctr/errors';
import { rfc3339Nano, toNanos } from '@ctr/image';
import type { LogEntry, LogsOptions, PluginLog, RemoteLog } from '@ctr/runtime';
import type { ContainerRecord } from '../container-records';
import { underContainerLock } from '../container-lock';
import type { EngineContext } from '../context';
import type { RemoteLogRequest } from '../log-config';
import type { LogSource } from '../log-details';
import type { PluginEndpoint } from './source';
import { scopedPath, withOp } from './volume-driver';
import { releaseUnlessRunning, settlePluginNote } from './volume-mounts';

/**
 * Logging plugins (`--log-driver PLUGIN`), Docker's LogDriver protocol as moby's plugin adapter
 * speaks it. The plugin is looked up at create (dockerd's ValidateLogOpts: an unknown name is
 * refused there) and asked its Capabilities; with ReadLogs, `logs` reads through it and no local
 * cache is kept, else the dual-logging cache serves `logs` as for syslog.
 *
 * Each start makes the container's FIFO and calls StartLogging with it before the container's
 * process starts (a refusal fails the start, and nothing is left); the container's log writer
 * (`@ctr/runtime`'s remote-log.ts) writes the LogEntry frames into it, with no ctr process
 * while the container runs. StopLogging is owed from then: a note beside the FIFO names the
 * plugin's address, and whoever releases the stopped container (conmon's exit command, a
 * monitor, `stop`, `rm`, recovery, the next start) answers it — volume-mounts.ts's release notes.
 */

/** Docker's capability name for logging plugins. */
export const LOG_DRIVER = 'LogDriver';

const LOCKS = 'log-plugin-locks';

/** Where moby makes a plugin's FIFOs, as the plugin sees them: a managed plugin's are inside its rootfs. */
const PLUGIN_LOG_DIR = '/run/docker/logging';

/** What a started log owes its plugin: StopLogging of `file`, at `address`; then the FIFO goes. */
interface LogNote {
  address: string;
  file: string;
  fifo: string;
  /** A managed plugin's rootfs, which the FIFO's directory must still be inside when it is removed. */
  rootfs?: string;
}

/** StartLogging's and ReadLogs' `Info` (moby's logger.Info). */
type LogInfo = Readonly<Record<string, unknown>>;

type PluginRemoteLog = Extract<RemoteLog, PluginLog>;

type Holder = Pick<ContainerRecord, 'id' | 'run'>;

/** The container's logging plugin, when its log driver is one. */
export function pluginLogOf(record: Holder): PluginRemoteLog | undefined {
  const log = record.run.remoteLog;
  return log?.driver === 'plugin' ? log : undefined;
}

function logsDir(runRoot: string): string {
  return path.join(runRoot, 'log-plugins');
}

function notePath(runRoot: string, id: string): string {
  return path.join(logsDir(runRoot), `${id}.json`);
}

/** The logging plugin `name`, refused at create as dockerd's log driver factory refuses a name it has no driver for. */
async function logPlugin(ctx: EngineContext, name: string, signal?: AbortSignal): Promise<PluginEndpoint> {
  try {
    return await ctx.plugins().get(name, LOG_DRIVER, signal);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw invalidArgument(`logger: no log driver named '${name}' is registered`, { hint: `no plugin ${name} implementing LogDriver could be used: ${why}`, cause: error });
  }
}

/**
 * `--log-driver PLUGIN` at create: the plugin looked up (refused in dockerd's words when there
 * is none, or it is no logging plugin) and its Capabilities asked (none answered: no ReadLogs,
 * as moby takes it). The answer makes the runtime's log once the container is known.
 */
export async function logPluginFor(ctx: EngineContext, name: string, signal?: AbortSignal): Promise<(request: RemoteLogRequest, source: LogSource) => RemoteLog> {
  const endpoint = await logPlugin(ctx, name, signal);
  const capabilities = await ctx
    .plugins()
    .client(endpoint)
    .call<{ Cap?: { ReadLogs?: unknown } }>('LogDriver.Capabilities', {}, signal)
    .catch(() => undefined);
  const readLogs = capabilities?.Cap?.ReadLogs === true;
  return (request, source) => {
    // A legacy plugin runs on the host: its FIFO is the engine's, in the run root.
    const file = endpoint.managed ? path.posix.join(PLUGIN_LOG_DIR, source.id) : path.join(logsDir(ctx.runRoot), source.id);
    const log: PluginRemoteLog = {
      driver: 'plugin',
      plugin: name,
      file,
      fifo: scopedPath(endpoint.paths, file),
      readLogs,
      // A plugin that reads its log back is `logs`' source: dockerd keeps no cache beside it.
      cache: request.cache && !readLogs,
      ...(request.maxBuffer !== undefined ? { maxBuffer: request.maxBuffer } : {}),
      info: {
        Config: request.options,
        ContainerID: source.id,
        // As dockerd keeps it, with its slash.
        ContainerName: `/${source.name}`,
        ContainerEntrypoint: source.path,
        ContainerArgs: source.args,
        ContainerImageID: source.imageId,
        ContainerImageName: source.image,
        ContainerEnv: source.env,
        ContainerLabels: source.labels,
        // dockerd sets it for json-file alone.
        LogPath: '',
        DaemonName: 'docker',
      },
    };
    return log;
  };
}

/** The Info the plugin is told, with the container's creation time (Go's time.Time in JSON). */
async function infoOf(ctx: EngineContext, id: string, log: PluginRemoteLog): Promise<LogInfo> {
  const state = await ctx.runtime.state(id).catch(() => undefined);
  return { ...log.info, ContainerCreated: state?.createdAt ?? '0001-01-01T00:00:00Z' };
}

/**
 * Run `start` with the container's logging plugin told to read its FIFO (StartLogging), under
 * the lock its release takes. A refusal fails the start in dockerd's words, with the FIFO and
 * the note gone; a start that fails after it is released by the caller's release, as dockerd's
 * cleanup closes the logger.
 */
export async function withPluginLogging<T>(ctx: EngineContext, record: Holder, start: () => Promise<T>): Promise<T> {
  const log = pluginLogOf(record);
  if (!log) return start();
  return underContainerLock(ctx, LOCKS, record.id, async () => {
    const note = notePath(ctx.runRoot, record.id);
    // What a run whose exit went unseen still owes the plugin.
    await settle(note, { keepUnanswered: false });
    const failed = (error: unknown): never => {
      throw withOp(asCtrError(error), 'failed to initialize logging driver');
    };
    const endpoint = await logPlugin(ctx, log.plugin).catch(failed);
    const rootfs = endpoint.paths?.rootfs;
    if (rootfs !== undefined) await insideRootfs(rootfs, path.dirname(log.fifo)).catch(failed);
    await fs.mkdir(path.dirname(log.fifo), { recursive: true, mode: 0o700 }).catch(failed);
    // Again once made: a link the plugin put there meanwhile must not take the FIFO out either.
    if (rootfs !== undefined) await insideRootfs(rootfs, path.dirname(log.fifo)).catch(failed);
    await fs.mkdir(logsDir(ctx.runRoot), { recursive: true, mode: 0o700 }).catch(failed);
    await fs.rm(log.fifo, { force: true }).catch(failed);
    // Node has no mkfifo of its own: one process, for plugin logs alone.
    await promisify(execFile)('mkfifo', ['-m', '600', log.fifo]).catch(failed);
    const owed: LogNote = { address: endpoint.address, file: log.file, fifo: log.fifo, ...(rootfs !== undefined ? { rootfs } : {}) };
    await fs.writeFile(note, JSON.stringify(owed)).catch(async (error: unknown) => {
      await fs.rm(log.fifo, { force: true });
      failed(error);
    });
    const info = await infoOf(ctx, record.id, log);
    await ctx
      .plugins()
      .client(endpoint)
      .call('LogDriver.StartLogging', { File: log.file, Info: info })
      .catch(async (error: unknown) => {
        await Promise.all([fs.rm(note, { force: true }), fs.rm(log.fifo, { force: true })]);
        failed(withOp(asCtrError(error), 'error creating logger'));
      });
    return start();
  });
}

/**
 * StopLogging for a container that no longer runs, from whichever process releases it; the FIFO
 * goes once the plugin has answered (as dockerd removes it after). Never fails: a plugin that
 * does not answer is asked again at the next release.
 */
export async function releasePluginLogging(ctx: EngineContext, record: Pick<ContainerRecord, 'id'>): Promise<void> {
  await releaseUnlessRunning(ctx, LOCKS, record.id, async () => {
    await settle(notePath(ctx.runRoot, record.id), { keepUnanswered: true });
  });
}

async function settle(note: string, options: { keepUnanswered: boolean }): Promise<void> {
  await settlePluginNote<LogNote>(
    note,
    async (owed, client) => {
      await client.call('LogDriver.StopLogging', { File: owed.file });
      // A directory that leads out of the rootfs now is not ctr's to remove from.
      const inside = owed.rootfs === undefined || (await insideRootfs(owed.rootfs, path.dirname(owed.fifo)).then(() => true, () => false));
      if (inside) await fs.rm(owed.fifo, { force: true });
    },
    options,
  );
}

/**
 * Refuse `dir` (a host path under a managed plugin's `rootfs`, as scopedPath joins it) when it
 * leads out of the rootfs: ctr makes, removes and mkfifos there as root, and a symlink in the
 * plugin's rootfs (run/docker/logging -> /etc) would have it do so at the host's paths. The
 * deepest part of `dir` that exists is resolved, symlinks and all, and must stay inside.
 */
async function insideRootfs(rootfs: string, dir: string): Promise<void> {
  const root = await fs.realpath(rootfs);
  for (let at = dir; ; at = path.dirname(at)) {
    const real = await fs.realpath(at).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' && at !== path.dirname(at)) return undefined;
      throw error;
    });
    if (real === undefined) continue;
    if (real === root || real.startsWith(`${root}/`)) return;
    throw invalidArgument(`${dir} leads out of the plugin's rootfs, to ${real}`, {
      hint: `the plugin's rootfs has a symbolic link on the path of its log FIFO: remove it from ${rootfs}`,
      details: { path: dir, rootfs, resolved: real },
    });
  }
}

/** Go's time.Time in JSON for `logs`' bounds: its zero time when there is none. */
function goTime(value: LogsOptions['since']): string {
  return value === undefined ? '0001-01-01T00:00:00Z' : rfc3339Nano(toNanos(value));
}

/**
 * `logs` of a container whose logging plugin reads its log back: its ReadLogs stream of
 * LogEntry frames, as moby's adapter reads it (lines before `since` dropped should the plugin
 * send them; the streams asked for alone).
 */
export function readPluginLogs(ctx: EngineContext, record: Holder, options: LogsOptions = {}): AsyncIterable<LogEntry> {
  return (async function* () {
    const log = pluginLogOf(record);
    if (!log) return;
    const endpoint = await logPlugin(ctx, log.plugin, options.signal);
    const config = { Since: goTime(options.since), Until: goTime(options.until), Tail: options.tail ?? -1, Follow: options.follow === true };
    const body = await ctx
      .plugins()
      .client(endpoint)
      .stream('LogDriver.ReadLogs', { Info: await infoOf(ctx, record.id, log), Config: config }, options.signal)
      .catch((error: unknown) => Promise.reject(withOp(asCtrError(error), 'error getting log reader')));
    const since = options.since === undefined ? undefined : toNanos(options.since);
    try {
      for await (const entry of decodeLogEntries(body)) {
        if (since !== undefined && entry.timeNano < since) continue;
        const stream = entry.source === 'stderr' ? 'stderr' : 'stdout';
        if ((stream === 'stdout' && options.stdout === false) || (stream === 'stderr' && options.stderr === false)) continue;
        yield { stream, time: rfc3339Nano(entry.timeNano), line: entry.line.toString('utf8') };
      }
    } finally {
      body.destroy();
    }
  })();
}

/** One LogEntry (moby's api/types/plugins/logdriver entry.proto). */
interface DecodedLogEntry {
  source: string;
  timeNano: bigint;
  line: Buffer;
  partial: boolean;
  partialLogMetadata?: { last: boolean; id: string; ordinal: number };
}

/**
 * The LogEntry messages of a framed stream (moby's logdriver io.go: each behind its length, a
 * big-endian uint32), as they come; a stream that ends inside one is refused.
 */
async function* decodeLogEntries(stream: Readable): AsyncGenerator<DecodedLogEntry> {
  let buffer: Buffer = Buffer.alloc(0);
  for await (const chunk of stream) {
    buffer = buffer.length === 0 ? (chunk as Buffer) : Buffer.concat([buffer, chunk as Buffer]);
    while (buffer.length >= 4) {
      const size = buffer.readUInt32BE(0);
      if (buffer.length < 4 + size) break;
      yield decodeLogEntry(buffer.subarray(4, 4 + size));
      buffer = buffer.subarray(4 + size);
    }
  }
  if (buffer.length > 0) throw internal('error decoding log message: unexpected EOF');
}

/** A protobuf message's fields: varints as bigints, length-delimited ones as bytes (the others LogEntry has not). */
function protoFields(message: Buffer): Array<{ field: number; varint?: bigint; bytes?: Buffer }> {
  const fields: Array<{ field: number; varint?: bigint; bytes?: Buffer }> = [];
  let at = 0;
  const varint = (): bigint => {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= message.length) throw internal('error decoding log message: truncated varint');
      const byte = message[at++] as number;
      value |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return value;
    }
  };
  while (at < message.length) {
    const key = Number(varint());
    const field = key >> 3;
    if ((key & 7) === 0) fields.push({ field, varint: varint() });
    else if ((key & 7) === 2) {
      const size = Number(varint());
      if (at + size > message.length) throw internal('error decoding log message: truncated field');
      fields.push({ field, bytes: message.subarray(at, at + size) });
      at += size;
    } else throw internal(`error decoding log message: wire type ${key & 7} of field ${field}`);
  }
  return fields;
}

function decodeLogEntry(message: Buffer): DecodedLogEntry {
  const entry: DecodedLogEntry = { source: '', timeNano: 0n, line: Buffer.alloc(0), partial: false };
  for (const { field, varint, bytes } of protoFields(message)) {
    if (field === 1 && bytes) entry.source = bytes.toString('utf8');
    else if (field === 2 && varint !== undefined) entry.timeNano = BigInt.asIntN(64, varint);
    else if (field === 3 && bytes) entry.line = bytes;
    else if (field === 4 && varint !== undefined) entry.partial = varint !== 0n;
    else if (field === 5 && bytes) {
      const metadata = { last: false, id: '', ordinal: 0 };
      for (const inner of protoFields(bytes)) {
        if (inner.field === 1 && inner.varint !== undefined) metadata.last = inner.varint !== 0n;
        else if (inner.field === 2 && inner.bytes) metadata.id = inner.bytes.toString('utf8');
        else if (inner.field === 3 && inner.varint !== undefined) metadata.ordinal = Number(BigInt.asIntN(32, inner.varint));
      }
      entry.partialLogMetadata = metadata;
    }
  }
  return entry;
}
