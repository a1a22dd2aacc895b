import { PassThrough } from 'node:stream';
import { logLine, logsNotReadable, logsReadable, parseDetachKeys, type StopOptions } from '@ctr/engine';
import { asCtrError, conflict, invalidArgument, isNotFound } from '@ctr/errors';
import { parsePlatform, type Platform } from '@ctr/image';
import { versionBefore } from '../api-version';
import { clientGone, openRawSession, sendEmpty, sendJson, startStream, type Call } from '../call';
import { createOptionsFromBody, updateOptionsFromBody } from '../container-config';
import { goJsonDocument } from '../go-json';
import { type WaitCondition, waitFailed } from '../lifecycle';
import { readJsonObject } from '../request-body';
import { route, type Route } from '../router';
import type { Services } from '../services';
import { STDERR, STDOUT, framedWriter } from '../stdcopy';
import { containerInspectFor } from '../version-shapes';
import { containerInspectFields, containerSummaryFields } from './swagger-fields';

const WAIT_CONDITIONS: readonly WaitCondition[] = ['not-running', 'next-exit', 'removed'];

/** Docker's `tail`: `all` or a count. */
/**
 * A create's 404 is the missing image's alone: the docker CLI takes any 404 from a create for
 * one and pulls it (from Docker Hub, for a plain name). Anything else not found at create — a
 * network, a container to join — is the request's fault (400), so no client pulls for it;
 * dockerd notices those only at the start.
 */
function missingImageOnly(error: unknown): unknown {
  if (!isNotFound(error)) return error;
  const found = asCtrError(error);
  return found.details.missing === 'image' ? found : invalidArgument(found.message, { cause: found, ...(found.hint ? { hint: found.hint } : {}) });
}

/** A create's `?platform=linux/arm64` (API 1.41 and later, as dockerd reads it): the platform its image must be for. */
function imagePlatformParam(call: Call): { imagePlatform?: Platform } {
  const text = versionBefore(call.version, '1.41') ? undefined : call.query.string('platform');
  return text ? { imagePlatform: parsePlatform(text) } : {};
}

/** `?t=` (or `timeout`) and `?signal=` of stop and restart. */
function stopOptions(call: Call): StopOptions {
  const timeout = call.query.int('t') ?? call.query.int('timeout');
  const signal = call.query.string('signal');
  return { ...(timeout !== undefined ? { timeout } : {}), ...(signal ? { signal } : {}) };
}

function tailOf(call: Call): number | undefined {
  const tail = call.query.string('tail');
  if (tail === undefined || tail === '' || tail === 'all') return undefined;
  const n = Number(tail);
  // Docker's clients send -1 for "all".
  if (Number.isInteger(n) && n < 0) return undefined;
  if (!Number.isInteger(n)) throw invalidArgument(`invalid value for tail: ${JSON.stringify(tail).slice(0, 40)}: use "all" or a number`);
  return n;
}

/** A logs bound as the docker CLI sends it (`<seconds>.<nanoseconds>`), kept as text: a number would lose the nanoseconds. */
function timeOf(call: Call, key: string): string | undefined {
  const value = call.query.string(key);
  if (value === undefined || value === '' || value === '0') return undefined;
  if (!/^-?\d+(\.\d+)?$/.test(value)) throw invalidArgument(`invalid value for ${key}: ${JSON.stringify(value).slice(0, 40)} is not a timestamp`);
  return value;
}

export function containerRoutes({ engine, lifecycle }: Services): Route[] {
  const id = (call: Call): string => call.params[0] as string;

  return [
    route('POST', '/containers/create', async (call) => {
      const body = await readJsonObject(call.req, 'create');
      const warnings: string[] = [];
      const options = createOptionsFromBody(body, call.query.string('name'), { version: call.version, warnings });
      const created = await engine.create({ ...options, ...imagePlatformParam(call) }).catch((error: unknown) => {
        throw missingImageOnly(error);
      });
      sendJson(call, 201, { Id: created.id, Warnings: [...created.warnings, ...warnings] });
    }),
    route('GET', '/containers/json', async (call) => {
      const limit = call.query.int('limit');
      const list = await engine.ps({
        all: call.query.bool('all'),
        filters: call.query.filters(),
        ...(limit !== undefined && limit > 0 ? { last: limit } : {}),
        // Walking every writable layer takes a while: only when asked, as dockerd does.
        ...(call.query.bool('size') ? { size: true, signal: clientGone(call) } : {}),
      });
      sendJson(call, 200, list.map(containerSummaryFields));
    }),
    route('GET', '/containers/:id/json', async (call) => {
      const inspect = await engine.inspect(id(call), call.query.bool('size') ? { size: true, signal: clientGone(call) } : {});
      sendJson(call, 200, containerInspectFields(containerInspectFor(call.version, inspect)));
    }),
    route('POST', '/containers/:id/start', async (call) => {
      const info = await engine.inspect(id(call));
      if (info.State.Running) return sendEmpty(call, 304);
      await lifecycle.start(info.Id, info.HostConfig.AutoRemove);
      sendEmpty(call, 204);
    }),
    route('POST', '/containers/:id/stop', async (call) => {
      const info = await engine.inspect(id(call));
      if (!info.State.Running) return sendEmpty(call, 304);
      await engine.stop(info.Id, stopOptions(call));
      sendEmpty(call, 204);
    }),
    route('POST', '/containers/:id/restart', async (call) => {
      const info = await engine.inspect(id(call));
      await engine.restart(info.Id, stopOptions(call), (started) => lifecycle.start(started, info.HostConfig.AutoRemove));
      sendEmpty(call, 204);
    }),
    route('POST', '/containers/:id/kill', async (call) => {
      await engine.kill(id(call), call.query.string('signal') || 'SIGKILL');
      sendEmpty(call, 204);
    }),
    route('POST', '/containers/:id/pause', async (call) => {
      await engine.pause(id(call));
      sendEmpty(call, 204);
    }),
    route('POST', '/containers/:id/unpause', async (call) => {
      await engine.unpause(id(call));
      sendEmpty(call, 204);
    }),
    route('POST', '/containers/:id/rename', async (call) => {
      const name = call.query.string('name');
      if (!name) throw invalidArgument('a new name is required: rename?name=NEW');
      await engine.rename(id(call), name.replace(/^\//, ''));
      sendEmpty(call, 204);
    }),
    route('POST', '/containers/:id/update', async (call) => {
      const { warnings } = await engine.update(id(call), updateOptionsFromBody(await readJsonObject(call.req)));
      sendJson(call, 200, { Warnings: warnings });
    }),
    route('POST', '/containers/:id/resize', async (call) => {
      await engine.resize(id(call), { height: call.query.int('h') ?? 0, width: call.query.int('w') ?? 0 });
      sendEmpty(call, 200);
    }),
    route('POST', '/containers/:id/wait', async (call) => {
      const condition = (call.query.string('condition') || 'not-running') as WaitCondition;
      if (!WAIT_CONDITIONS.includes(condition)) throw invalidArgument(`invalid condition: ${JSON.stringify(condition).slice(0, 40)}: use not-running, next-exit or removed`);
      // Look the container up first, so a missing one is a 404 and not a 200 with an error inside.
      const info = await engine.inspect(id(call));
      const res = startStream(call, 'application/json');
      const gone = clientGone(call);
      try {
        res.end(goJsonDocument(await lifecycle.wait(info, condition, gone), true));
      } catch (error) {
        if (!gone.aborted) res.end(goJsonDocument(waitFailed(error), true));
      }
    }),
    route('DELETE', '/containers/:id', async (call) => {
      await engine.remove(id(call), { force: call.query.bool('force'), volumes: call.query.bool('v') });
      sendEmpty(call, 204);
    }),
    route('POST', '/containers/prune', async (call) => {
      const result = await engine.pruneContainers({ filters: call.query.filters() });
      sendJson(call, 200, result);
    }),
    route('GET', '/containers/:id/logs', async (call) => {
      const info = await engine.inspect(id(call));
      const stdout = call.query.bool('stdout');
      const stderr = call.query.bool('stderr');
      if (!stdout && !stderr) throw invalidArgument('Bad parameters: you must choose at least one stream');
      // Refused before the stream's headers, as dockerd's 501.
      if (!logsReadable(info.HostConfig.LogConfig)) throw logsNotReadable();
      const tty = info.Config.Tty;
      const timestamps = call.query.bool('timestamps');
      const details = call.query.bool('details');
      const tail = tailOf(call);
      const since = timeOf(call, 'since');
      const until = timeOf(call, 'until');
      const res = startStream(call, tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream');
      const gone = clientGone(call);
      const out = framedWriter(res, STDOUT, tty);
      const err = framedWriter(res, STDERR, tty);
      try {
        for await (const entry of engine.logs(info.Id, {
          follow: call.query.bool('follow'),
          stdout,
          stderr,
          details,
          signal: gone,
          ...(tail !== undefined ? { tail } : {}),
          ...(since !== undefined ? { since } : {}),
          ...(until !== undefined ? { until } : {}),
        })) {
          (entry.stream === 'stderr' ? err : out).write(`${logLine(entry, { timestamps, details })}\n`);
        }
      } catch (error) {
        if (!gone.aborted) throw error;
      }
      res.end();
    }),
    route('POST', '/containers/:id/attach', async (call) => attach(call), { hijack: true }),
  ];

  /**
   * `docker run` attaches before it starts: streams given to a container that is not
   * running wait in the lifecycle until `start`; a running one is attached at once.
   */
  async function attach(call: Call): Promise<void> {
    const info = await engine.inspect(id(call));
    if (!call.query.bool('stream') && !call.query.bool('logs')) throw invalidArgument('Bad parameters: you must choose at least one of stream or logs');
    // A stopped container is attached to for its next start (`docker start -a`), as dockerd does.
    if (info.State.Paused) throw conflict('You cannot attach to a paused container, unpause it first');
    // Refused before the connection is taken over, while the client can still get a 400.
    const detachKeys = call.query.string('detachKeys') || undefined;
    if (detachKeys) parseDetachKeys(detachKeys);
    const tty = info.Config.Tty;
    const session = openRawSession(call, tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream');
    const gone = clientGone(call);
    const io = {
      ...(call.query.bool('stdout') ? { stdout: framedWriter(session.output, STDOUT, tty) } : {}),
      ...(call.query.bool('stderr') ? { stderr: framedWriter(session.output, tty ? STDOUT : STDERR, tty) } : {}),
      ...(call.query.bool('stdin') && info.Config.OpenStdin ? { stdin: session.input.pipe(new PassThrough()) } : {}),
      ...(detachKeys ? { detachKeys } : {}),
      signal: gone,
    };
    // A container that keeps no log has none to replay.
    if (call.query.bool('logs') && info.HostConfig.LogConfig.Type !== 'none') {
      for await (const entry of engine.logs(info.Id, { signal: gone })) {
        const target = entry.stream === 'stderr' ? io.stderr : io.stdout;
        target?.write(`${entry.line}\n`);
      }
    }
    if (!call.query.bool('stream')) return session.close();
    if (info.State.Running) {
      engine.attach(info.Id, io).then(session.close, session.close);
      return;
    }
    const cancel = lifecycle.attachLater(info.Id, io, session.close);
    void session.gone.then(cancel);
  }
}
