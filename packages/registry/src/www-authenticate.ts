/** One challenge of a `WWW-Authenticate` header: `Bearer realm="…",service="…",scope="…"`. */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parse a `WWW-Authenticate` header (RFC 7235): one or more challenges, each a scheme and
 * `key=value` / `key="quoted, value"` parameters. Scheme names are lowercased.
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  const token = /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)/y;
  const param = /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/y;
  let at = 0;
  while (at < header.length) {
    token.lastIndex = at;
    const scheme = token.exec(header);
    if (scheme === null) break;
    at = token.lastIndex;
    const challenge: AuthChallenge = { scheme: scheme[1]!.toLowerCase(), params: {} };
    for (;;) {
      param.lastIndex = at;
      const m = param.exec(header);
      if (m === null) break;
      challenge.params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
      at = param.lastIndex;
    }
    challenges.push(challenge);
    while (at < header.length && /[\s,]/.test(header[at]!)) at += 1;
  }
  return challenges;
}
