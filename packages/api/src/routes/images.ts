import { pipeline } from 'node:stream/promises';
import { applyConfigChanges, familiarImageName, normalizeImageName } from '@ctr/engine';
import { asCtrError, invalidArgument, notFound } from '@ctr/errors';
import { JsonMessages, bodyStream, clientGone, sendJson, startStream, type Call } from '../call';
import { registryAuthHeader } from '../registry-auth';
import { route, type Route } from '../router';
import type { Services } from '../services';

/** `fromImage=busybox&tag=latest` (or a tag/digest inside fromImage) as one reference. */
function reference(image: string, tag: string | undefined): string {
  if (!tag) return image;
  return tag.startsWith('sha256:') ? `${image}@${tag}` : `${image}:${tag}`;
}

/** The digest Docker shows as a layer's progress id: 12 hex characters. */
function layerId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** A pull or push progress event as the line dockerd streams for it. */
function progressLine(event: { status: string; id: string; current?: number; total?: number }): Record<string, unknown> {
  return {
    status: event.status,
    id: layerId(event.id),
    progressDetail: event.total !== undefined ? { current: event.current ?? 0, total: event.total } : {},
  };
}

/** Run a streaming job whose errors become Docker's `errorDetail` line once headers are out. */
async function streamed(call: Call, job: (out: JsonMessages) => Promise<void>): Promise<void> {
  const out = new JsonMessages(call);
  try {
    await job(out);
  } catch (error) {
    out.fail(asCtrError(error));
  }
  out.end();
}

export function imageRoutes({ engine }: Services): Route[] {
  const name = (call: Call): string => call.params[0] as string;

  return [
    route('GET', '/images/json', async (call) => {
      const filters = call.query.filters();
      // The `filter` parameter of API < 1.41 is a `reference` filter.
      const legacy = call.query.string('filter');
      if (legacy) filters.reference = [...(filters.reference ?? []), legacy];
      sendJson(call, 200, await engine.images({ all: call.query.bool('all'), filters }));
    }),
    route('GET', '/images/search', async () => {
      throw notFound('search is not available: ctrd has no index to search', { hint: 'pull by name instead' });
    }),
    route('POST', '/images/create', async (call) => {
      const fromImage = call.query.string('fromImage');
      const fromSrc = call.query.string('fromSrc');
      if (fromImage) return pull(call, reference(fromImage, call.query.string('tag')));
      if (fromSrc === '-') return importTar(call);
      if (fromSrc) throw invalidArgument('importing from a URL is not supported: ctrd reaches no network but loopback registries', { hint: 'send the tar as the request body with fromSrc=-' });
      throw invalidArgument('fromImage or fromSrc is required');
    }),
    route('POST', '/images/load', async (call) => {
      await streamed(call, async (out) => {
        const { loaded } = await engine.load(bodyStream(call), { signal: clientGone(call) });
        for (const line of loaded) out.write({ stream: `${line}\n` });
      });
    }),
    route('GET', '/images/get', async (call) => save(call, call.query.all('names'))),
    // docker image prune -a sends dangling=false: every unused image, not only untagged ones.
    route('POST', '/images/prune', async (call) => sendJson(call, 200, await engine.pruneImages({ filters: call.query.filters() }))),
    route('GET', '/images/*name/json', async (call) => sendJson(call, 200, await engine.inspectImage(name(call)))),
    route('GET', '/images/*name/history', async (call) => sendJson(call, 200, await engine.history(name(call)))),
    route('GET', '/images/*name/get', async (call) => save(call, [name(call)])),
    route('POST', '/images/*name/tag', async (call) => {
      const repo = call.query.string('repo');
      if (!repo) throw invalidArgument('repository name must have at least one component: tag?repo=NAME');
      await engine.tag(name(call), reference(repo, call.query.string('tag')));
      call.res?.writeHead(201).end();
    }),
    route('POST', '/images/*name/push', async (call) => {
      const target = reference(name(call), call.query.string('tag'));
      const full = normalizeImageName(target);
      const auth = registryAuthHeader(call.req);
      await engine.inspectImage(target);
      await streamed(call, async (out) => {
        out.write({ status: `The push refers to repository [${full.replace(/[:@][^/:@]*$/, '')}]` });
        const result = await engine.push(target, {
          signal: clientGone(call),
          ...(auth ? { auth } : {}),
          onProgress: (event) => out.write(progressLine(event)),
        });
        const tag = full.includes('@') ? '' : full.slice(full.lastIndexOf(':') + 1);
        out.write({ status: `${tag}: digest: ${result.digest} size: ${result.size}` });
        out.write({ progressDetail: {}, aux: { Tag: tag, Digest: result.digest, Size: result.size } });
      });
    }),
    route('DELETE', '/images/*name', async (call) => {
      sendJson(call, 200, await engine.removeImage(name(call), { force: call.query.bool('force') }));
    }),
  ];

  async function pull(call: Call, ref: string): Promise<void> {
    const full = normalizeImageName(ref);
    const familiar = familiarImageName(full);
    const tag = full.includes('@') ? full.slice(full.indexOf('@') + 1) : full.slice(full.lastIndexOf(':') + 1);
    const auth = registryAuthHeader(call.req);
    await streamed(call, async (out) => {
      out.write({ status: `Pulling from ${full.replace(/^[^/]+\//, '').replace(/[:@].*$/, '')}`, id: tag });
      const existed = await engine.inspectImage(full).then((i) => i.Id, () => undefined);
      const image = await engine.pull(ref, {
        signal: clientGone(call),
        ...(auth ? { auth } : {}),
        onProgress: (event) => out.write(progressLine(event)),
      });
      out.write({ status: `Digest: ${image.record.target.digest}` });
      out.write({ status: existed === image.record.id ? `Status: Image is up to date for ${familiar}` : `Status: Downloaded newer image for ${familiar}` });
    });
  }

  async function importTar(call: Call): Promise<void> {
    const repo = call.query.string('repo');
    const target = repo ? reference(repo, call.query.string('tag')) : undefined;
    const message = call.query.string('message');
    const config = applyConfigChanges(call.query.all('changes'));
    await streamed(call, async (out) => {
      const image = await engine.importImage(
        { tar: bodyStream(call) },
        { ...(target ? { name: target } : {}), ...(message ? { comment: message } : {}), config, signal: clientGone(call) },
      );
      out.write({ status: image.record.id });
    });
  }

  async function save(call: Call, names: string[]): Promise<void> {
    if (names.length === 0) throw invalidArgument('no image names given: images/get?names=NAME');
    const archive = await engine.save(names, { signal: clientGone(call) });
    const res = startStream(call, 'application/x-tar');
    await pipeline(archive, res).catch(() => res.destroy());
  }
}
