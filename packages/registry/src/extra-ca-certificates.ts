import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { invalidArgument } from '@ctr/errors';

/**
 * Where the `ctr` launcher moves NODE_EXTRA_CA_CERTS: Node parses that file at every start,
 * so the launcher hides it from Node and ctr reads it only when it first speaks TLS.
 */
export const EXTRA_CA_CERTS_VARIABLE = 'CTR_EXTRA_CA_CERTS';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;
const loaded = new Map<string, readonly string[]>();

/**
 * The CAs to trust for outgoing TLS: Node's built-in roots plus the certificates in the file
 * CTR_EXTRA_CA_CERTS names, read once per process per file. Undefined when the variable is
 * unset or empty: Node's defaults apply (including a NODE_EXTRA_CA_CERTS Node loaded itself).
 * An unreadable file, or one without a PEM certificate, is an InvalidArgument CtrError.
 */
export function extraCaCertificates(env: NodeJS.ProcessEnv = process.env): readonly string[] | undefined {
  const file = env[EXTRA_CA_CERTS_VARIABLE];
  if (file === undefined || file === '') return undefined;
  let certificates = loaded.get(file);
  if (certificates === undefined) {
    certificates = [...rootCertificates, ...readCertificates(file)];
    loaded.set(file, certificates);
  }
  return certificates;
}

function readCertificates(file: string): string[] {
  const hint = `point ${EXTRA_CA_CERTS_VARIABLE} (or NODE_EXTRA_CA_CERTS, which the ctr launcher moves there) at a PEM file of CA certificates, or unset it`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw invalidArgument(`cannot load extra CA certificates from ${EXTRA_CA_CERTS_VARIABLE}=${file}: ${reason}`, { hint, cause: error });
  }
  const certificates = pemCertificates(text);
  if (certificates.length === 0) throw invalidArgument(`cannot load extra CA certificates from ${EXTRA_CA_CERTS_VARIABLE}=${file}: no PEM certificate in it`, { hint });
  return certificates;
}

/** The PEM certificates in a text, whatever else it holds (as Go's AppendCertsFromPEM skips the rest). */
export function pemCertificates(text: string): string[] {
  return text.match(PEM_CERTIFICATE) ?? [];
}
