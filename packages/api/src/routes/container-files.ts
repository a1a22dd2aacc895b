import { pipeline } from 'node:stream/promises';
import { invalidArgument } from '@ctr/errors';
import type { PathStat } from '@ctr/engine';
import { bodyStream, clientGone, sendJson, startStream, type Call } from '../call';
import { goJsonDocument } from '../go-json';
import { route, type Route } from '../router';
import type { Services } from '../services';

/** dockerd's `X-Docker-Container-Path-Stat`: the stat as base64 JSON. */
function statHeader(stat: PathStat): string {
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}

function pathOf(call: Call): string {
  const path = call.query.string('path');
  if (!path) throw invalidArgument('path is required: archive?path=/PATH');
  return path;
}

/** `docker cp`, `export`, `diff`, `top` and `stats`: the container's files and processes. */
export function containerFileRoutes({ engine }: Services): Route[] {
  const id = (call: Call): string => call.params[0] as string;

  return [
    route('HEAD', '/containers/:id/archive', async (call) => {
      const stat = await engine.statPath(id(call), pathOf(call));
      call.res?.writeHead(200, { 'X-Docker-Container-Path-Stat': statHeader(stat), 'Content-Type': 'application/x-tar' }).end();
    }),
    route('GET', '/containers/:id/archive', async (call) => {
      const { stat, tar } = await engine.getArchive(id(call), pathOf(call), { signal: clientGone(call) });
      call.res?.setHeader('X-Docker-Container-Path-Stat', statHeader(stat));
      const res = startStream(call, 'application/x-tar');
      await pipeline(tar, res).catch(() => res.destroy());
    }),
    route('PUT', '/containers/:id/archive', async (call) => {
      await engine.putArchive(id(call), pathOf(call), bodyStream(call), {
        noOverwriteDirNonDir: call.query.bool('noOverwriteDirNonDir'),
        signal: clientGone(call),
      });
      call.res?.writeHead(200, { 'Content-Length': 0 }).end();
    }),
    route('GET', '/containers/:id/export', async (call) => {
      const tar = await engine.export(id(call), { signal: clientGone(call) });
      const res = startStream(call, 'application/x-tar');
      await pipeline(tar, res).catch(() => res.destroy());
    }),
    route('GET', '/containers/:id/changes', async (call) => sendJson(call, 200, await engine.changes(id(call)))),
    route('GET', '/containers/:id/top', async (call) => sendJson(call, 200, await engine.top(id(call), call.query.string('ps_args') || undefined))),
    route('GET', '/containers/:id/stats', async (call) => {
      const stream = call.query.bool('stream', true);
      const samples = engine.stats(id(call), { stream, oneShot: call.query.bool('one-shot'), signal: clientGone(call) });
      // The first sample is taken before the headers go out, so a missing container is a 404.
      const first = await samples.next();
      const res = startStream(call, 'application/json');
      try {
        if (!first.done) res.write(goJsonDocument(first.value, true));
        for await (const sample of samples) res.write(goJsonDocument(sample, true));
      } catch {
        // The client went away, or the container did: the stream simply ends.
      }
      res.end();
    }),
  ];
}
