import { createSecureContext, rootCertificates } from 'node:tls';
import { buildConnector } from 'undici';
import { hostCertificates, type HostCertificates } from './certs-directory';
import { extraCaCertificates } from './extra-ca-certificates';

/** The connector for the extra CAs in force, shared by every Agent: their TLS context is built once. */
let trusted: { ca: readonly string[]; connector: buildConnector.connector } | undefined;

/** Per registry host, the connector for what its certificates directory held when last read, rebuilt when that changes. */
const perHost = new Map<string, { files: string; extra: readonly string[] | undefined; connector: buildConnector.connector }>();

/**
 * undici's connector, except that TLS trusts the extra CAs (CTR_EXTRA_CA_CERTS) and, as dockerd,
 * what the registry's certificates directory (`/etc/docker/certs.d/<host:port>/`, or under
 * CTR_CERTS_D) holds: its `*.crt` CAs, and its client certificate. Both are looked up at each
 * new https connection, so commands that never speak TLS never read them, and a certificate
 * added to the directory counts from the next connection on, as dockerd reads it per pull.
 * Origins in `unverified` (https origins of loopback and insecure registries, as Docker treats
 * them) are connected to without verifying their certificate, and present none, as dockerd's.
 */
export function trustingConnector(unverified?: ReadonlySet<string>): buildConnector.connector {
  const plain = buildConnector({});
  let unchecked: buildConnector.connector | undefined;
  return (options, callback) => {
    if (options.protocol !== 'https:') return plain(options, callback);
    const host = options.host ?? options.hostname;
    if (unverified?.has(`https://${host}`)) {
      unchecked ??= buildConnector({ rejectUnauthorized: false });
      return unchecked(options, callback);
    }
    // Connected once the certificates are read: a connector that throws then must still answer the callback.
    verifiedConnector(host)
      .then((connector) => (connector ?? plain)(options, callback))
      .catch((error: Error) => callback(error, null));
  };
}

/** The connector for a verified connection to `host`; undefined when Node's defaults apply. */
async function verifiedConnector(host: string): Promise<buildConnector.connector | undefined> {
  const extra = extraCaCertificates();
  const own = await hostCertificates(host);
  if (own !== undefined) return hostConnector(host, own, extra);
  if (extra === undefined) return undefined;
  if (trusted?.ca !== extra) trusted = { ca: extra, connector: buildConnector({ secureContext: createSecureContext({ ca: [...extra] }) }) };
  return trusted.connector;
}

function hostConnector(host: string, own: HostCertificates, extra: readonly string[] | undefined): buildConnector.connector {
  // A directory without CAs keeps the usual trust; with some, they are added to the roots (Go's SystemCertPool plus them).
  const files = JSON.stringify(own);
  const cached = perHost.get(host);
  if (cached?.files === files && cached.extra === extra) return cached.connector;
  const ca = own.ca.length > 0 ? [...(extra ?? rootCertificates), ...own.ca] : extra === undefined ? undefined : [...extra];
  const connector = buildConnector({ secureContext: createSecureContext({ ...(ca ? { ca } : {}), ...(own.client ?? {}) }) });
  perHost.set(host, { files, extra, connector });
  return connector;
}
