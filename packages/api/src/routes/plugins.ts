import type { PluginPrivilege } from '@ctr/engine';
import { invalidArgument } from '@ctr/errors';
import { familiarName, familiarString, parseNormalizedReference, withDefaultTag } from '@ctr/image';
import { sendEmpty, sendJson, clientGone, type Call, type JsonMessages } from '../call';
import { registryAuthHeader } from '../registry-auth';
import { checkForJson, readSmallBody } from '../request-body';
import { route, type Route } from '../router';
import type { Services } from '../services';
import { layerProgress, streamed } from './images';

/**
 * A JSON array body (`set`'s settings, a pull's privileges): empty or `null` is none; what is
 * not an array of `items` (those `valid` takes) is refused, its words after `what`.
 */
async function jsonArrayBody<T>(call: Call, what: string, items: string, valid: (item: unknown) => item is T): Promise<T[]> {
  const text = (await readSmallBody(call.req)).toString('utf8');
  let parsed: unknown;
  try {
    parsed = text.trim() === '' ? [] : JSON.parse(text);
  } catch (error) {
    throw invalidArgument(`${what}: ${(error as Error).message}`);
  }
  if (parsed === null) return [];
  if (!Array.isArray(parsed) || !parsed.every(valid)) throw invalidArgument(`${what}: expected a JSON array of ${items}`);
  return parsed;
}

const isString = (item: unknown): item is string => typeof item === 'string';

/** A privilege as moby's PluginPrivilege decodes: a Name, and a Value of strings (or none). */
function isPrivilege(item: unknown): item is PluginPrivilege {
  const { Name, Value } = (item ?? {}) as Record<string, unknown>;
  return typeof Name === 'string' && (Value === null || Value === undefined || (Array.isArray(Value) && Value.every(isString)));
}

/** The body of a pull or upgrade: the privileges the user granted, a JSON array of moby's PluginPrivilege. */
async function privilegesOf(call: Call): Promise<PluginPrivilege[]> {
  const privileges = await jsonArrayBody(call, 'failed to parse privileges', '{Name, Description, Value}', isPrivilege);
  return privileges.map((p) => ({ Name: p.Name, Description: typeof p.Description === 'string' ? p.Description : '', Value: [...(p.Value ?? [])] }));
}

/** `remote=` of a pull, privileges or upgrade request: required, and a reference. */
function remoteOf(call: Call): string {
  const remote = call.query.string('remote');
  if (!remote) throw invalidArgument('remote is required: the plugin reference to pull');
  return remote;
}

/** moby's first line of a plugin pull: the tag, and where from. */
function pulling(out: JsonMessages, remote: string): void {
  const ref = parseNormalizedReference(remote);
  out.write({ status: `Pulling from ${familiarName(ref)}`, id: ref.tag ?? ref.digest ?? 'latest' });
}

/**
 * The managed-plugin endpoints of moby's plugin router: list, inspect, create (a tar of
 * config.json and rootfs/), enable, disable, remove, set, and
 * privileges, pull, upgrade and push through the registry. Names have slashes and tags
 * (`vieux/sshfs:latest`): the name is the rest of the path before the action.
 */
export function pluginRoutes({ engine }: Services): Route[] {
  return [
    route('GET', '/plugins', async (call) => sendJson(call, 200, await engine.listPlugins({ filters: call.query.filters() }))),
    route('POST', '/plugins/create', async (call) => {
      const name = call.query.string('name');
      if (!name) throw invalidArgument('a plugin name is required: name');
      await engine.createPlugin(name, call.req, { signal: clientGone(call) });
      sendEmpty(call, 204);
    }),
    route('GET', '/plugins/privileges', async (call) => {
      const auth = registryAuthHeader(call.req);
      sendJson(call, 200, await engine.pluginPrivileges(remoteOf(call), { signal: clientGone(call), ...(auth ? { auth } : {}) }));
    }),
    route('POST', '/plugins/pull', async (call) => {
      const remote = remoteOf(call);
      const auth = registryAuthHeader(call.req);
      const privileges = await privilegesOf(call);
      // docker's client sets and enables the plugin by this name once the pull is done; always
      // tagged, and a remote pinned by digest named by its repository and tag (moby's getName).
      const given = call.query.string('name');
      const { domain, path, tag, digest } = parseNormalizedReference(given || remote);
      if (given && digest !== undefined) throw invalidArgument('cannot use digest in plugin tag');
      const name = familiarString(withDefaultTag({ domain, path, ...(tag !== undefined ? { tag } : {}) }));
      call.res?.setHeader('Docker-Plugin-Name', name);
      await streamed(call, async (out) => {
        pulling(out, remote);
        await engine.pullPlugin(remote, { name, privileges, signal: clientGone(call), ...(auth ? { auth } : {}), onProgress: layerProgress(out) });
      });
    }),
    route('POST', '/plugins/*name/upgrade', async (call) => {
      const remote = remoteOf(call);
      const auth = registryAuthHeader(call.req);
      const privileges = await privilegesOf(call);
      await streamed(call, async (out) => {
        pulling(out, remote);
        await engine.upgradePlugin(call.params[0] as string, remote, { privileges, signal: clientGone(call), ...(auth ? { auth } : {}), onProgress: layerProgress(out) });
      });
    }),
    route('POST', '/plugins/*name/push', async (call) => {
      const name = call.params[0] as string;
      const auth = registryAuthHeader(call.req);
      await streamed(call, async (out) => {
        const plugin = await engine.inspectPlugin(name);
        out.write({ status: `The push refers to repository [${familiarName(parseNormalizedReference(plugin.Name))}]` });
        const pushed = await engine.pushPlugin(plugin.Id, { signal: clientGone(call), ...(auth ? { auth } : {}), onProgress: layerProgress(out) });
        // The aux line docker's client reads for content trust, as moby ends a plugin push.
        out.write({ progressDetail: {}, aux: { Tag: pushed.tag, Digest: pushed.digest, Size: pushed.size } });
      });
    }),
    route('GET', '/plugins/*name/json', async (call) => sendJson(call, 200, await engine.inspectPlugin(call.params[0] as string))),
    route('POST', '/plugins/*name/enable', async (call) => {
      const timeout = call.query.int('timeout');
      await engine.enablePlugin(call.params[0] as string, { ...(timeout !== undefined ? { timeout } : {}), signal: clientGone(call) });
      sendEmpty(call, 200);
    }),
    route('POST', '/plugins/*name/disable', async (call) => {
      await engine.disablePlugin(call.params[0] as string, { force: call.query.bool('force') });
      sendEmpty(call, 200);
    }),
    route('POST', '/plugins/*name/set', async (call) => {
      // dockerd's ReadJSON: a body declared other than JSON is refused before it is read.
      checkForJson(call.req);
      await engine.setPlugin(call.params[0] as string, await jsonArrayBody(call, 'invalid JSON', 'KEY=VALUE strings', isString));
      sendEmpty(call, 204);
    }),
    route('DELETE', '/plugins/*name', async (call) => {
      await engine.removePlugin(call.params[0] as string, { force: call.query.bool('force') });
      sendEmpty(call, 200);
    }),
  ];
}
