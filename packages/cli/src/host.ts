import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CtrError, invalidArgument, isCtrError } from '@ctr/errors';
import type { TlsOptions } from '@ctr/api';
import { ContextStore, DEFAULT_CONTEXT, configDir } from './context-store';

/** The global flags that choose where commands go (docker's `-H`, `--context`, `--tls*`). */
export interface HostFlags {
  host?: string;
  context?: string;
  tls?: boolean;
  tlsVerify?: boolean;
  tlsCaCert?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** Where the commands go: the engine in this process, or a daemon. */
export type Endpoint = { kind: 'local'; context: string } | { kind: 'remote'; context: string; host: string; tls?: TlsOptions };

/** `DOCKER_TLS_VERIFY=1`: set and not empty means on, as docker reads it. */
function envFlag(value: string | undefined): boolean {
  return value !== undefined && value !== '';
}

async function readPem(file: string, explicit: boolean, what: string): Promise<Buffer | undefined> {
  const data = await fs.readFile(file).catch(() => undefined);
  if (!data && explicit) throw invalidArgument(`could not read ${what} "${file}": no such file or directory`);
  return data;
}

/**
 * TLS for a `-H`/`$CTR_HOST` daemon, as docker works it out: `--tlsverify` (or
 * `$DOCKER_TLS_VERIFY`) checks the daemon against the CA and shows our certificate; `--tls`
 * alone encrypts without checking. Files default to `ca.pem`, `cert.pem`, `key.pem` in
 * `$CTR_CERT_PATH`, `$DOCKER_CERT_PATH` or the config directory.
 */
async function flagTls(flags: HostFlags, env: NodeJS.ProcessEnv): Promise<TlsOptions | undefined> {
  const verify = flags.tlsVerify === true || envFlag(env.DOCKER_TLS_VERIFY);
  if (!verify && flags.tls !== true && !envFlag(env.DOCKER_TLS)) return undefined;
  const certPath = env.CTR_CERT_PATH || env.DOCKER_CERT_PATH || configDir(env);
  const ca = await readPem(flags.tlsCaCert ?? path.join(certPath, 'ca.pem'), verify, 'CA certificate');
  const cert = await readPem(flags.tlsCert ?? path.join(certPath, 'cert.pem'), flags.tlsCert !== undefined, 'client certificate');
  const key = await readPem(flags.tlsKey ?? path.join(certPath, 'key.pem'), flags.tlsKey !== undefined, 'client key');
  return { ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}), insecureSkipVerify: !verify };
}

async function contextEndpoint(store: ContextStore, name: string): Promise<Endpoint> {
  if (name === DEFAULT_CONTEXT) return { kind: 'local', context: DEFAULT_CONTEXT };
  // docker's words, from its CLI's initialisation: every command fails so before it starts.
  const { meta, tls } = await store.get(name).catch((error: unknown) =>
    Promise.reject(isCtrError(error) ? new CtrError(error.code, `Failed to initialize: unable to resolve docker endpoint: ${error.message}`, { cause: error, details: error.details }) : error),
  );
  const endpoint = meta.Endpoints.docker;
  const hasTls = tls.ca !== undefined || tls.cert !== undefined || endpoint.SkipTLSVerify;
  return {
    kind: 'remote',
    context: name,
    host: endpoint.Host,
    ...(hasTls ? { tls: { ...tls, insecureSkipVerify: endpoint.SkipTLSVerify } } : {}),
  };
}

/** The context in use when no `-H`/`--context` says otherwise: `$CTR_CONTEXT`/`$DOCKER_CONTEXT`, else the one config.json names. */
export async function currentContext(store: ContextStore, env: NodeJS.ProcessEnv): Promise<string> {
  return env.CTR_CONTEXT || env.DOCKER_CONTEXT || (await store.current());
}

/**
 * Where commands go, by docker's precedence: `-H` > `--context` > `$CTR_HOST` >
 * `$DOCKER_HOST` > `$CTR_CONTEXT`/`$DOCKER_CONTEXT` > the current context in the config >
 * the engine in-process (the `default` context).
 */
export async function resolveEndpoint(flags: HostFlags, env: NodeJS.ProcessEnv): Promise<Endpoint> {
  if (flags.host !== undefined && flags.context !== undefined) throw invalidArgument('conflicting options: cannot specify both --host and --context');
  const store = new ContextStore(configDir(env));
  const explicitHost = flags.host ?? (env.CTR_HOST || env.DOCKER_HOST || undefined);
  if (flags.context !== undefined) return contextEndpoint(store, flags.context);
  if (explicitHost !== undefined) {
    const tls = await flagTls(flags, env);
    return { kind: 'remote', context: DEFAULT_CONTEXT, host: explicitHost, ...(tls ? { tls } : {}) };
  }
  return contextEndpoint(store, await currentContext(store, env));
}
