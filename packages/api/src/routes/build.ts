import { classicStreamText, type BuildEvent } from '@ctr/dockerfile';
import { checkBuildIsolation, familiarImageName, normalizeImageName } from '@ctr/engine';
import type { ContainerConfig } from '@ctr/image';
import { asCtrError, invalidArgument } from '@ctr/errors';
import { versionBefore } from '../api-version';
import { JsonMessages, bodyStream, clientGone, sendJson } from '../call';
import { buildStepsFromQuery } from '../container-config';
import { Fields } from '../fields';
import { registryConfigHeader } from '../registry-auth';
import { readJsonObject } from '../request-body';
import { route, type Route } from '../router';
import type { Services } from '../services';
import { pullMessageLine } from './images';

/**
 * A build event as dockerd's classic builder streams it: a pull's messages as a pull's
 * (`{"status":"Pulling fs layer","progressDetail":{},"id":"…"}`), which the docker CLI draws
 * as it draws `docker pull`'s; anything else as its text (`{"stream":"Step 1/2 : …"}`), none
 * for an event dockerd says nothing of (a stage not built): the CLI prints an empty stream as
 * an empty line.
 */
function buildMessages(event: BuildEvent): Array<Record<string, unknown>> {
  if (event.type === 'pull') return [pullMessageLine(event)];
  const stream = classicStreamText(event);
  return stream === '' ? [] : [{ stream }];
}

export function buildRoutes({ engine }: Services): Route[] {
  return [
    route('POST', '/build/prune', async (call) => {
      // `keep-storage` until API 1.48, `reserved-space` after.
      const keepStorage = call.query.int('reserved-space') ?? call.query.int('keep-storage');
      const filters = call.query.filters();
      sendJson(call, 200, await engine.pruneBuildCache({ all: call.query.bool('all'), filters, ...(keepStorage ? { keepStorage } : {}) }));
    }),
    route('POST', '/build', async (call) => {
      const q = call.query;
      const tags = q.all('t');
      for (const tag of tags) normalizeImageName(tag);
      const dockerfile = q.string('dockerfile');
      const target = q.string('target');
      const platform = q.string('platform');
      const quiet = q.bool('q');
      const buildArgs = q.nullableStringMap('buildargs');
      const labels = q.stringMap('labels');
      const cacheFrom = q.stringList('cachefrom');
      const isolation = q.string('isolation');
      checkBuildIsolation(isolation);
      // Read before the response starts: a bad one is a 400, not an error inside a 200 stream.
      const steps = buildStepsFromQuery(q);
      const registryAuth = registryConfigHeader(call.req);
      const out = new JsonMessages(call);
      // dockerd's notVerboseBuffer: a quiet build's output, held back, said only if the build fails.
      const heldBack: Array<Record<string, unknown>> = [];
      const wantAux = !versionBefore(call.version, '1.30');
      const onEvent = (event: BuildEvent): void => {
        // dockerd's emitImageID: the image's ID (API 1.30 on) comes before `Successfully built`,
        // and, like all else, only with the held-back output of a quiet build.
        const messages = event.type === 'done' && wantAux ? [{ aux: { ID: event.id } }, ...buildMessages(event)] : buildMessages(event);
        if (quiet) heldBack.push(...messages);
        else for (const message of messages) out.write(message);
      };
      try {
        const remote = q.string('remote');
        const result = await engine.build({
          // With `remote` the daemon fetches the context itself, and the body carries none; a
          // body that is no archive is a Dockerfile alone, as docker's CLI reads its stdin.
          context: remote ? { remote } : bodyStream(call),
          ...(dockerfile ? { dockerfile } : {}),
          ...(target ? { target } : {}),
          ...(platform ? { platform } : {}),
          buildArgs,
          labels,
          noCache: q.bool('nocache'),
          // docker's `--pull` (`pull=1`): every base from its registry, even one here.
          pull: q.bool('pull'),
          // docker's defaults: intermediate containers removed after a successful step (`rm`), kept after a failed one unless `forcerm`.
          remove: q.bool('rm', true),
          forceRemove: q.bool('forcerm'),
          network: q.string('networkmode') ?? 'default',
          ...(isolation ? { isolation } : {}),
          ...(cacheFrom.length > 0 ? { cacheFrom } : {}),
          squash: q.bool('squash'),
          steps,
          tags,
          registryAuth,
          signal: clientGone(call),
          onEvent,
        });
        if (quiet) out.write({ stream: `${result.id}\n` });
        else for (const tag of tags) out.write({ stream: `Successfully tagged ${familiarImageName(normalizeImageName(tag))}\n` });
      } catch (error) {
        // dockerd's errf: a quiet build's held-back output first; a build that has said nothing
        // (a Dockerfile that does not parse) answers with the error itself.
        for (const message of heldBack) out.write(message);
        if (!out.flushed) throw error;
        out.fail(asCtrError(error));
      }
      out.end();
    }),
    route('POST', '/commit', async (call) => {
      const q = call.query;
      const container = q.string('container');
      if (!container) throw invalidArgument('a container is required: commit?container=ID');
      const body = await readJsonObject(call.req, 'commit');
      const config: Record<string, unknown> = {};
      const fields = new Fields(body, '');
      for (const key of ['Cmd', 'Entrypoint', 'Env'] as const) {
        const value = fields.strings(key, { single: key !== 'Env' });
        if (value) config[key] = value;
      }
      for (const key of ['WorkingDir', 'User', 'StopSignal'] as const) {
        const value = fields.string(key);
        if (value) config[key] = value;
      }
      const labels = fields.stringMap('Labels');
      if (labels) config.Labels = labels;
      const repo = q.string('repo');
      const tag = q.string('tag');
      const comment = q.string('comment');
      const author = q.string('author');
      const result = await engine.commit(container, {
        ...(repo ? { reference: tag ? `${repo}:${tag}` : repo } : {}),
        ...(comment ? { comment } : {}),
        ...(author ? { author } : {}),
        config: config as ContainerConfig,
        changes: q.all('changes'),
        pause: q.bool('pause', true),
      });
      sendJson(call, 201, { Id: result.id });
    }),
  ];
}
