import { createSecureContext } from 'node:tls';
import { buildConnector } from 'undici';
import { extraCaCertificates } from './extra-ca-certificates';

/** The connector for the extra CAs in force, shared by every Agent: their TLS context is built once. */
let trusted: { ca: readonly string[]; connector: buildConnector.connector } | undefined;

/**
 * undici's connector, except that TLS trusts the extra CAs (CTR_EXTRA_CA_CERTS): looked up at
 * each https connection and parsed once, so commands that never speak TLS never read the file.
 * Origins in `unverified` (https origins of loopback and insecure registries, as Docker treats
 * them) are connected to without verifying their certificate.
 */
export function trustingConnector(unverified?: ReadonlySet<string>): buildConnector.connector {
  const plain = buildConnector({});
  let unchecked: buildConnector.connector | undefined;
  return (options, callback) => {
    if (options.protocol !== 'https:') return plain(options, callback);
    if (unverified?.has(`https://${options.host ?? options.hostname}`)) {
      unchecked ??= buildConnector({ rejectUnauthorized: false });
      return unchecked(options, callback);
    }
    let ca: readonly string[] | undefined;
    try {
      ca = extraCaCertificates();
    } catch (error) {
      callback(error as Error, null);
      return;
    }
    if (ca === undefined) return plain(options, callback);
    if (trusted?.ca !== ca) trusted = { ca, connector: buildConnector({ secureContext: createSecureContext({ ca: [...ca] }) }) };
    return trusted.connector(options, callback);
  };
}
