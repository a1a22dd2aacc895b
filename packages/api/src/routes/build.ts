import { formatEvent } from '@ctr/dockerfile';
import { familiarImageName, normalizeImageName } from '@ctr/engine';
import { asCtrError, invalidArgument } from '@ctr/errors';
import { JsonMessages, bodyStream, clientGone, sendJson } from '../call';
import { Fields } from '../fields';
import { readJsonObject } from '../request-body';
import { route, type Route } from '../router';
import type { Services } from '../services';

/** `changes` of `docker commit --change`: the instructions whose meaning is plain config. */
function applyChange(config: Record<string, unknown>, change: string): void {
  const match = /^\s*(\w+)\s+(.*)$/s.exec(change);
  if (!match) throw invalidArgument(`invalid change: ${JSON.stringify(change).slice(0, 80)}`);
  const instruction = (match[1] as string).toUpperCase();
  const rest = (match[2] as string).trim();
  const list = (): string[] => {
    if (rest.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(rest);
        if (Array.isArray(parsed) && parsed.every((v) => typeof v === 'string')) return parsed as string[];
      } catch {
        // not JSON: the shell form below
      }
    }
    return ['/bin/sh', '-c', rest];
  };
  const pair = (): [string, string] => {
    const eq = rest.indexOf('=');
    const space = rest.search(/\s/);
    const at = eq !== -1 && (space === -1 || eq < space) ? eq : space;
    if (at === -1) throw invalidArgument(`invalid change: ${instruction} needs a key and a value`);
    return [rest.slice(0, at), rest.slice(at + 1).trim().replace(/^"(.*)"$/, '$1')];
  };
  switch (instruction) {
    case 'CMD':
      config.Cmd = list();
      return;
    case 'ENTRYPOINT':
      config.Entrypoint = list();
      return;
    case 'ENV': {
      const [k, v] = pair();
      config.Env = [...((config.Env as string[] | undefined) ?? []).filter((e) => !e.startsWith(`${k}=`)), `${k}=${v}`];
      return;
    }
    case 'LABEL': {
      const [k, v] = pair();
      config.Labels = { ...((config.Labels as Record<string, string> | undefined) ?? {}), [k]: v };
      return;
    }
    case 'WORKDIR':
      config.WorkingDir = rest;
      return;
    case 'USER':
      config.User = rest;
      return;
    case 'STOPSIGNAL':
      config.StopSignal = rest;
      return;
    case 'EXPOSE':
      config.ExposedPorts = { ...((config.ExposedPorts as Record<string, object> | undefined) ?? {}), ...Object.fromEntries(rest.split(/\s+/).map((p) => [p.includes('/') ? p : `${p}/tcp`, {}])) };
      return;
    case 'VOLUME':
      config.Volumes = { ...((config.Volumes as Record<string, object> | undefined) ?? {}), ...Object.fromEntries(list().filter((p) => p !== '/bin/sh' && p !== '-c').map((p) => [p, {}])) };
      return;
    default:
      throw invalidArgument(`${instruction} is not a valid change command`);
  }
}

export function buildRoutes({ engine }: Services): Route[] {
  return [
    route('POST', '/build', async (call) => {
      const q = call.query;
      const tags = q.all('t');
      for (const tag of tags) normalizeImageName(tag);
      const dockerfile = q.string('dockerfile');
      const target = q.string('target');
      const platform = q.string('platform');
      const quiet = q.bool('q');
      const buildArgs = q.stringMap('buildargs');
      const labels = q.stringMap('labels');
      const out = new JsonMessages(call);
      try {
        const result = await engine.build({
          context: bodyStream(call),
          ...(dockerfile ? { dockerfile } : {}),
          ...(target ? { target } : {}),
          ...(platform ? { platform } : {}),
          buildArgs,
          labels,
          noCache: q.bool('nocache'),
          allow: { networkHost: q.string('networkmode') === 'host' },
          tags,
          signal: clientGone(call),
          ...(quiet ? {} : { onEvent: (event) => out.write({ stream: formatEvent(event) }) }),
        });
        out.write({ aux: { ID: result.id } });
        if (quiet) out.write({ stream: `${result.id}\n` });
        else for (const tag of tags) out.write({ stream: `Successfully tagged ${familiarImageName(normalizeImageName(tag))}\n` });
      } catch (error) {
        out.fail(asCtrError(error));
      }
      out.end();
    }),
    route('POST', '/commit', async (call) => {
      const q = call.query;
      const container = q.string('container');
      if (!container) throw invalidArgument('a container is required: commit?container=ID');
      const body = await readJsonObject(call.req);
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
      for (const change of q.all('changes').flatMap((c) => c.split('\n')).filter((c) => c.trim() !== '')) applyChange(config, change);
      const repo = q.string('repo');
      const tag = q.string('tag');
      const comment = q.string('comment');
      const author = q.string('author');
      const result = await engine.commit(container, {
        ...(repo ? { reference: tag ? `${repo}:${tag}` : repo } : {}),
        ...(comment ? { comment } : {}),
        ...(author ? { author } : {}),
        changes: config,
        pause: q.bool('pause', true),
      });
      sendJson(call, 201, { Id: result.id });
    }),
  ];
}
