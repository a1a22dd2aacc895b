import { pipeline } from 'node:stream/promises';
import { PullMessages, applyConfigChanges, normalizeImageName, pullOutcomeMessage, tagPullMessage, type ImageInspect, type PullMessage, type PushedTag } from '@ctr/engine';
import { familiarName, normalizePlatform, parsePlatform, parseReference, referenceName, type Platform } from '@ctr/image';
import { asCtrError, invalidArgument } from '@ctr/errors';
import { dockerPullError, dockerPushError, progressText } from '@ctr/registry';
import { JsonMessages, bodyStream, clientGone, sendJson, startStream, type Call } from '../call';
import { lenientRegistryAuthHeader } from '../registry-auth';
import { route, type Route } from '../router';
import type { Services } from '../services';
import { imageInspectFor, imageSummaryFor } from '../version-shapes';

/** `fromImage=busybox&tag=latest` (or a tag/digest inside fromImage) as one reference. */
function reference(image: string, tag: string | undefined): string {
  if (!tag) return image;
  return tag.startsWith('sha256:') ? `${image}@${tag}` : `${image}:${tag}`;
}

/**
 * `Container` and `ContainerConfig` (for an image no classic build made, an empty config),
 * which dockerd stopped sending in API 1.45: docker-compose 1.29 negotiates the newest
 * version and reads `ContainerConfig.Volumes` whenever it recreates a container, so against
 * dockerd 25 and later it fails there (KeyError: 'ContainerConfig'). ctr keeps them.
 */
function withContainerConfig<T extends Pick<ImageInspect, 'Config'>>(inspect: T): Omit<T, 'Config'> & { Config: LegacyImageConfig; Container: string; ContainerConfig: ContainerConfigShown } {
  // The image's volumes, as a classic build's last step had them: compose keeps the data of
  // these (anonymous volumes) across a recreate, and would start them empty without.
  return { ...inspect, Config: legacyImageConfig(inspect.Config), Container: '', ContainerConfig: { ...EMPTY_CONTAINER_CONFIG, Volumes: inspect.Config.Volumes ?? null } };
}

/**
 * An image's config as dockerd answers a client before API 1.50 (its legacyConfigFields
 * "v1.49", added where the OCI config left them out): a zero `container.Config` under what the
 * image sets, so `Hostname`, `Env`, `Cmd`, `Volumes`, `OnBuild`, `Labels` … are there, null or
 * empty, for a template (`{{.Config.Env}}` is an error on a missing key) or a client's lookup.
 */
function legacyImageConfig(config: ImageConfig): LegacyImageConfig {
  const given = Object.fromEntries(Object.entries(config).filter(([, value]) => value !== undefined)) as ImageConfig;
  return { ...EMPTY_CONTAINER_CONFIG, ...given };
}

type ImageConfig = ImageInspect['Config'];
type ZeroConfig = typeof EMPTY_CONTAINER_CONFIG;
/** The image's fields over Go's zero ones: each is the image's value, or the zero one where it sets none. */
type LegacyImageConfig = Omit<ImageConfig, keyof ZeroConfig> & {
  [K in keyof ZeroConfig]: K extends keyof ImageConfig ? Exclude<ImageConfig[K], undefined> | ZeroConfig[K] : ZeroConfig[K];
};

type ContainerConfigShown = Omit<typeof EMPTY_CONTAINER_CONFIG, 'Volumes'> & { Volumes: Record<string, object> | null };

/** Go's zero `container.Config`, as dockerd marshals it. */
const EMPTY_CONTAINER_CONFIG = {
  Hostname: '',
  Domainname: '',
  User: '',
  AttachStdin: false,
  AttachStdout: false,
  AttachStderr: false,
  Tty: false,
  OpenStdin: false,
  StdinOnce: false,
  Env: null,
  Cmd: null,
  Image: '',
  Volumes: null,
  WorkingDir: '',
  Entrypoint: null,
  OnBuild: null,
  Labels: null,
};

/** The digest Docker shows as a layer's progress id: 12 hex characters. */
function layerId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/**
 * A pull or push progress event as the line dockerd streams for it, its fields in dockerd's
 * order: `{"status":"Downloading","progressDetail":{"current":…,"total":…},"progress":"[=>  ] …","id":"…"}`;
 * a status without bytes has an empty `progressDetail` and no `progress`. Zero counts are
 * left out of `progressDetail`, as Go's omitempty leaves them.
 */
export function progressLine(event: { status: string; id: string; current?: number; total?: number }): Record<string, unknown> {
  const progress = progressText(event.current, event.total);
  return {
    status: event.status,
    progressDetail: { ...(event.current ? { current: event.current } : {}), ...(event.total ? { total: event.total } : {}) },
    ...(progress ? { progress } : {}),
    id: layerId(event.id),
  };
}

/** Streams each layer's progress event as dockerd's line; an image config's goes unshown, as dockerd shows none. */
export function layerProgress(out: JsonMessages): (event: { kind: 'config' | 'layer'; status: string; id: string; current?: number; total?: number }) => void {
  return (event) => {
    if (event.kind === 'layer') out.write(progressLine(event));
  };
}

/** A pull's message as the line dockerd streams for it: a layer's with its bytes (`progressLine`), the others as they are. */
export function pullMessageLine(message: PullMessage): Record<string, unknown> {
  if (message.progress && message.id !== undefined) return progressLine({ status: message.status, id: message.id, ...message.progress });
  return { status: message.status, ...(message.id !== undefined ? { id: message.id } : {}) };
}

/** `platform=linux/arm64` of a pull or an import. */
function platformParam(call: Call): { platform?: Platform } {
  const text = call.query.string('platform');
  return text ? { platform: parsePlatform(text) } : {};
}

/**
 * `platform={"os":"linux","architecture":"arm64"}` of push (API 1.46), save, load and history
 * (1.48): a JSON OCI platform, refused in dockerd's words.
 */
function jsonPlatformParam(call: Call): { platform?: Platform } {
  const values = call.query.all('platform').filter(Boolean);
  if (values.length > 1) throw invalidArgument('multiple platform parameters not supported');
  return values[0] === undefined ? {} : { platform: jsonPlatform(values[0]) };
}

function jsonPlatform(text: string): Platform {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalidArgument(`failed to parse platform: ${(error as Error).message}`);
  }
  const { os, architecture, variant } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (variant !== undefined && typeof variant !== 'string') throw invalidArgument('failed to parse platform: variant must be a string');
  if (typeof os !== 'string' || typeof architecture !== 'string' || os === '' || architecture === '') {
    throw invalidArgument('both OS and Architecture must be provided');
  }
  return normalizePlatform({ os, architecture, ...(variant ? { variant } : {}) });
}

/**
 * Run a streaming job as dockerd's handlers do: its error is the answer when nothing was said
 * yet, else Docker's `errorDetail` line; `errorsInStream` makes it a line always (`load`'s).
 */
export async function streamed(call: Call, job: (out: JsonMessages) => Promise<void>, options: { errorsInStream?: boolean } = {}): Promise<void> {
  const out = new JsonMessages(call);
  try {
    await job(out);
  } catch (error) {
    // dockerd's handlers: an error before the first message is the answer (`if !output.Flushed() { return err }`).
    if (!out.flushed && !options.errorsInStream) throw error;
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
      // `shared-size` (API 1.42): each image's SharedSize, as `system df` gives it; -1 without.
      const images = await engine.images({ all: call.query.bool('all'), filters, sharedSize: call.query.bool('shared-size') });
      sendJson(call, 200, images.map((image) => imageSummaryFor(call.version, image)));
    }),
    route('GET', '/images/search', async (call) => {
      const text = call.query.string('limit');
      const limit = text ? Number(text) : undefined;
      if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) throw invalidArgument(`invalid limit specified: ${text}`);
      const auth = lenientRegistryAuthHeader(call.req);
      const options = { filters: call.query.filters(), signal: clientGone(call), ...(limit !== undefined ? { limit } : {}), ...(auth ? { auth } : {}) };
      sendJson(call, 200, await engine.searchImages(call.query.string('term') ?? '', options));
    }),
    route('POST', '/images/create', async (call) => {
      const fromImage = call.query.string('fromImage');
      const fromSrc = call.query.string('fromSrc');
      if (fromImage) {
        // As dockerd: without a tag, a name alone is every tag (`pull -a`; old clients add a trailing `:`).
        const image = fromImage.replace(/:$/, '');
        const tag = call.query.string('tag');
        const named = parseReference(image);
        if (!tag && named.tag === undefined && named.digest === undefined) return pullAllTags(call, image);
        return pull(call, reference(image, tag));
      }
      if (fromSrc === '-') return importTar(call);
      if (fromSrc) throw invalidArgument('importing from a URL is not supported: ctrd reaches no network but loopback registries', { hint: 'send the tar as the request body with fromSrc=-' });
      throw invalidArgument('fromImage or fromSrc is required');
    }),
    route('POST', '/images/load', async (call) => {
      const platform = jsonPlatformParam(call);
      await streamed(call, async (out) => {
        const { loaded } = await engine.load(bodyStream(call), { signal: clientGone(call), ...platform });
        for (const line of loaded) out.write({ stream: `${line}\n` });
        // dockerd's postImagesLoad writes its error into the answer, whatever was said before.
      }, { errorsInStream: true });
    }),
    route('GET', '/images/get', async (call) => save(call, call.query.all('names'))),
    // docker image prune -a sends dangling=false: every unused image, not only untagged ones.
    route('POST', '/images/prune', async (call) => sendJson(call, 200, await engine.pruneImages({ filters: call.query.filters() }))),
    route('GET', '/images/*name/json', async (call) => sendJson(call, 200, withContainerConfig(imageInspectFor(call.version, await engine.inspectImage(name(call)))))),
    route('GET', '/images/*name/history', async (call) => sendJson(call, 200, await engine.history(name(call), jsonPlatformParam(call)))),
    route('GET', '/images/*name/get', async (call) => save(call, [name(call)])),
    route('POST', '/images/*name/tag', async (call) => {
      const repo = call.query.string('repo');
      if (!repo) throw invalidArgument('repository name must have at least one component: tag?repo=NAME');
      await engine.tag(name(call), reference(repo, call.query.string('tag')));
      call.res?.writeHead(201).end();
    }),
    route('POST', '/images/*name/push', async (call) => {
      const target = reference(name(call), call.query.string('tag'));
      const named = parseReference(target);
      // As dockerd: without a tag, a name alone is every tag it has here (`push -a`).
      const allTags = named.tag === undefined && named.digest === undefined;
      // As dockerd 29 (moby ea29dffa): no header is no credentials; 28 read a JSON body instead, and refused an empty one.
      const auth = lenientRegistryAuthHeader(call.req);
      const platform = jsonPlatformParam(call);
      // As dockerd: what the push finds wrong (no such tag here, a digest) ends the stream.
      await streamed(call, async (out) => {
        out.write({ status: `The push refers to repository [${referenceName(named)}]` });
        const options = { signal: clientGone(call), ...(auth ? { auth } : {}), ...platform, onProgress: layerProgress(out) };
        const pushed = (result: PushedTag): void => {
          // docker's CLI ends the push with a note when a platform's manifest went instead of the index.
          if (result.pushedInsteadOfIndex) out.write({ progressDetail: {}, aux: { manifestPushedInsteadOfIndex: true, ...result.pushedInsteadOfIndex } });
          out.write({ status: `${result.tag}: digest: ${result.digest} size: ${result.size}` });
          out.write({ progressDetail: {}, aux: { Tag: result.tag, Digest: result.digest, Size: result.size } });
        };
        // Registry failures in dockerd's words and statuses, not ctr's.
        const rethrow = (error: unknown): never => {
          throw dockerPushError(error);
        };
        if (allTags) await engine.pushAllTags(target, { ...options, onPushed: pushed }).catch(rethrow);
        else pushed({ tag: named.tag ?? '', ...(await engine.push(target, options).catch(rethrow)) });
      });
    }),
    route('DELETE', '/images/*name', async (call) => {
      // `noprune` (keep untagged parents) holds whatever it says: ctr images have no parents.
      // `platforms` (API 1.50), JSON OCI platforms, is taken whatever version the client asked for.
      const platforms = call.query.all('platforms').filter(Boolean).map(jsonPlatform);
      const options = { force: call.query.bool('force'), noPrune: call.query.bool('noprune'), ...(platforms.length > 0 ? { platforms } : {}) };
      sendJson(call, 200, await engine.removeImage(name(call), options));
    }),
  ];

  async function pull(call: Call, ref: string): Promise<void> {
    const full = normalizeImageName(ref);
    const auth = lenientRegistryAuthHeader(call.req);
    const platform = platformParam(call);
    await streamed(call, async (out) => {
      // Under the digest when the reference has one; `Pulling from` once the registry has the manifest, as dockerd's pullTag says it.
      const messages = new PullMessages(ref, (message) => out.write(pullMessageLine(message)));
      const before = await engine.inspectImage(full).then((i) => i.Id, () => undefined);
      // Registry failures as dockerd's translatePullError answers them (a 401 would make docker's CLI ask for a login).
      const pulled = await engine.pull(ref, { signal: clientGone(call), ...(auth ? { auth } : {}), ...platform, onProgress: messages.progress }).catch((error: unknown) => {
        throw dockerPullError(error, full);
      });
      messages.pulled(pulled, before);
    });
  }

  /** Every tag of `repository` the registry lists, each pulled as `pull` does, one outcome for them all (dockerd's). */
  async function pullAllTags(call: Call, repository: string): Promise<void> {
    const named = parseReference(repository);
    const auth = lenientRegistryAuthHeader(call.req);
    const platform = platformParam(call);
    await streamed(call, async (out) => {
      const tell = (message: PullMessage): void => out.write(pullMessageLine(message));
      const { updated } = await engine.pullAllTags(repository, {
        signal: clientGone(call),
        ...(auth ? { auth } : {}),
        ...platform,
        onTag: (event) => tell(tagPullMessage(event, named)),
        onProgress: layerProgress(out),
      }).catch((error: unknown) => {
        throw dockerPullError(error, normalizeImageName(repository));
      });
      tell(pullOutcomeMessage(updated, familiarName(named)));
    });
  }

  async function importTar(call: Call): Promise<void> {
    const repo = call.query.string('repo');
    const target = repo ? reference(repo, call.query.string('tag')) : undefined;
    const message = call.query.string('message');
    const config = applyConfigChanges(call.query.all('changes'));
    const platform = platformParam(call);
    await streamed(call, async (out) => {
      const image = await engine.importImage(
        { tar: bodyStream(call) },
        { ...(target ? { name: target } : {}), ...(message ? { comment: message } : {}), ...platform, config, signal: clientGone(call) },
      );
      out.write({ status: image.record.id });
    });
  }

  async function save(call: Call, names: string[]): Promise<void> {
    if (names.length === 0) throw invalidArgument('no image names given: images/get?names=NAME');
    const archive = await engine.save(names, { signal: clientGone(call), ...jsonPlatformParam(call) });
    const res = startStream(call, 'application/x-tar');
    await pipeline(archive, res).catch(() => res.destroy());
  }
}
