import { invalidArgument } from '@ctr/errors';

/**
 * One `--change` of `docker commit` / `docker import`: a Dockerfile instruction whose meaning
 * is plain image config, applied to `config` (Docker's field names).
 */
export function applyChange(config: Record<string, unknown>, change: string): void {
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
