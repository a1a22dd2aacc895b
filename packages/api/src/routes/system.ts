import { checkEventWindow, eventJson, type EngineEvent } from '@ctr/engine';
import { invalidArgument } from '@ctr/errors';
import { goJsonEscaped } from '@ctr/image';
import { dockerLoginError } from '@ctr/registry';
import { clientGone, sendJson, startStream, type Call } from '../call';
import { MAX_API_VERSION, versionBefore } from '../api-version';
import { serverVersion } from '../engine-api';
import { authConfigFrom } from '../registry-auth';
import { readJsonObject } from '../request-body';
import { route, type Route } from '../router';
import type { Services } from '../services';
import { diskUsageImageFor } from '../version-shapes';
import { containerSummaryFields, infoFields } from './swagger-fields';

function ping(call: Call, experimental: boolean): Promise<void> {
  const res = call.res;
  if (!res) return Promise.resolve();
  res.writeHead(200, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Api-Version': MAX_API_VERSION,
    Ostype: 'linux',
    'Builder-Version': '1',
    'Docker-Experimental': String(experimental),
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
    'Content-Length': 2,
  });
  res.end(call.req.method === 'HEAD' ? undefined : 'OK');
  return Promise.resolve();
}

/** The legacy fields old clients read (`status`, `id`, `from`) next to Type/Action/Actor. */
function dockerEvent(event: EngineEvent): EngineEvent & Record<string, unknown> {
  const legacy = event.Type === 'container' || event.Type === 'image' ? { status: event.Action, id: event.Actor.ID, ...(event.Actor.Attributes.image ? { from: event.Actor.Attributes.image } : {}) } : {};
  return { ...legacy, ...event };
}

/** `GET /system/df`'s `type` values (API 1.42 on) and the lists they fill, as moby's getDiskUsage reads them. */
const DISK_USAGE_TYPES = { container: 'Containers', image: 'Images', volume: 'Volumes', 'build-cache': 'BuildCache' } as const;
type DiskUsageList = (typeof DISK_USAGE_TYPES)[keyof typeof DISK_USAGE_TYPES];

/**
 * The lists a `GET /system/df` asks for: every one without a `type` (or before API 1.42), else
 * those its `type`s name; an unknown one is refused before anything is counted, in moby's words.
 */
function diskUsageAsked(call: Call): ReadonlySet<DiskUsageList> {
  const types = call.query.all('type');
  if (types.length === 0 || versionBefore(call.version, '1.42')) return new Set(Object.values(DISK_USAGE_TYPES));
  return new Set(
    types.map((type) => {
      if (!Object.hasOwn(DISK_USAGE_TYPES, type)) throw invalidArgument(`unknown object type: ${type}`);
      return DISK_USAGE_TYPES[type as keyof typeof DISK_USAGE_TYPES];
    }),
  );
}

function epochSeconds(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (Number.isFinite(n)) return n;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : date / 1000;
}

export function systemRoutes({ engine, authorizationPlugins, swarm }: Services): Route[] {
  return [
    route('GET', '/_ping', (call) => ping(call, engine.version().Experimental === true)),
    route('HEAD', '/_ping', (call) => ping(call, engine.version().Experimental === true)),
    route('GET', '/version', async (call) => sendJson(call, 200, serverVersion(engine.version(), await engine.components()))),
    route('GET', '/info', async (call) => {
      const info = await engine.info();
      const authorization = authorizationPlugins?.() ?? [];
      const fields = infoFields(authorization.length > 0 ? { ...info, Plugins: { ...info.Plugins, Authorization: [...authorization] } } : info);
      // The engine knows no swarm: the daemon's, when this root has one, says what it is.
      const inSwarm = await swarm.info();
      sendJson(call, 200, inSwarm ? { ...fields, Swarm: inSwarm } : fields);
    }),
    route('GET', '/events', async (call) => {
      const filters = call.query.filters();
      const shown = { since: call.query.string('since') ?? '', until: call.query.string('until') ?? '' };
      const since = epochSeconds(shown.since);
      const until = epochSeconds(shown.until);
      // A 400 before the stream starts, in dockerd's words (the times as the request gave them).
      checkEventWindow(since, until, shown);
      const res = startStream(call, 'application/json');
      const gone = clientGone(call);
      try {
        for await (const event of engine.events({ filters, signal: gone, ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) })) {
          // One Go JSON document a line, HTML escaped as dockerd's encoder does, the nanoseconds whole.
          res.write(`${goJsonEscaped(eventJson(dockerEvent(event)), true)}\n`);
        }
      } catch (error) {
        if (!gone.aborted) throw error;
      }
      res.end();
    }),
    route('GET', '/system/df', async (call) => {
      const asked = diskUsageAsked(call);
      const usage = await engine.df();
      // moby leaves a list it was not asked for null, and counts LayersSize with the images.
      const list = <T>(name: DiskUsageList, items: T[]): T[] | null => (asked.has(name) ? items : null);
      sendJson(call, 200, {
        LayersSize: asked.has('Images') ? usage.LayersSize : 0,
        Images: list('Images', usage.Images.map((image) => diskUsageImageFor(call.version, image))),
        Containers: list('Containers', usage.Containers.map(containerSummaryFields)),
        Volumes: list('Volumes', usage.Volumes),
        BuildCache: list('BuildCache', usage.BuildCache),
      });
    }),
    // `docker login`: check the credentials against the registry; the client stores them, not the daemon.
    route('POST', '/auth', async (call) => {
      const auth = authConfigFrom(await readJsonObject(call.req, 'auth'), 'auth config: ');
      // A refusal or an unreachable registry in dockerd's words and status (500).
      const answer = await engine.login(auth, { signal: clientGone(call) }).catch((error: unknown) => {
        throw dockerLoginError(error);
      });
      sendJson(call, 200, answer);
    }),
  ];
}
