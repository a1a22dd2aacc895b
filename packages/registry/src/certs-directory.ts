import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument } from '@ctr/errors';
import { pemCertificates } from './extra-ca-certificates';

/** Names the directory ctr reads per-registry certificates from instead of docker's. */
export const CERTS_DIRECTORY_VARIABLE = 'CTR_CERTS_D';

/** Where docker keeps per-registry certificates: `<dir>/<host:port>/`. */
export const DOCKER_CERTS_DIRECTORY = '/etc/docker/certs.d';

/** What a registry's certificates directory adds to TLS with it. */
export interface HostCertificates {
  /** PEM CA certificates (`*.crt`), trusted besides the usual roots. */
  ca: string[];
  /** The client certificate and key (`name.cert` with `name.key`) to present, the first by name. */
  client?: { cert: string; key: string };
}

/** The certificates directory in force: `$CTR_CERTS_D`, else docker's. */
export function certsDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return env[CERTS_DIRECTORY_VARIABLE] || DOCKER_CERTS_DIRECTORY;
}

/**
 * The certificates `<certs directory>/<host>/` holds for a registry `host` (`host:port`, as the
 * connection names it), read as dockerd's ReadCertsDirectory reads them: every `*.crt` is a CA,
 * every `*.cert` a client certificate whose key is the `*.key` of the same name. Undefined when
 * there is no such directory, or nothing in it. A certificate without its key or a key without
 * its certificate is an InvalidArgument in dockerd's words; so is a directory that cannot be read.
 */
export async function hostCertificates(host: string, env: NodeJS.ProcessEnv = process.env): Promise<HostCertificates | undefined> {
  // A host is one path segment: anything else cannot name a registry's directory.
  if (host === '' || host === '.' || host === '..' || host.includes('/')) return undefined;
  const dir = join(certsDirectory(env), host);
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw invalidArgument(`cannot read the certificates for ${host} in ${dir}: ${(error as Error).message}`, { cause: error });
  }
  const found: HostCertificates = { ca: [] };
  const read = (name: string): Promise<string> => readFile(join(dir, name), 'utf8');
  for (const name of names) {
    if (name.endsWith('.crt')) {
      found.ca.push(...pemCertificates(await read(name)));
    } else if (name.endsWith('.cert')) {
      const keyName = `${name.slice(0, -'.cert'.length)}.key`;
      if (!names.includes(keyName)) throw invalidArgument(`missing key ${keyName} for client certificate ${name}. CA certificates must use the extension .crt`, { details: { path: dir } });
      found.client ??= { cert: await read(name), key: await read(keyName) };
    } else if (name.endsWith('.key')) {
      const certName = `${name.slice(0, -'.key'.length)}.cert`;
      if (!names.includes(certName)) throw invalidArgument(`missing client certificate ${certName} for key ${name}`, { details: { path: dir } });
    }
  }
  return found.ca.length > 0 || found.client !== undefined ? found : undefined;
}
