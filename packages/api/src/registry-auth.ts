import type { IncomingMessage } from 'node:http';
import type { AuthConfig } from '@ctr/engine';
import { invalidArgument } from '@ctr/errors';

const AUTH_FIELDS = ['username', 'password', 'auth', 'email', 'serveraddress', 'identitytoken', 'registrytoken'] as const;

/**
 * An AuthConfig from a decoded JSON object. Keys match without regard to case, as Go's
 * decoder matches them (`Username` and `username` are one field); unknown keys are ignored.
 * `where` prefixes error messages (`X-Registry-Auth header: `).
 */
export function authConfigFrom(value: Record<string, unknown>, where: string): AuthConfig {
  const lower: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) lower[key.toLowerCase()] = field;
  const config: AuthConfig = {};
  for (const key of AUTH_FIELDS) {
    const field = lower[key];
    if (field === undefined || field === null || field === '') continue;
    // The value is not echoed: it may be a secret.
    if (typeof field !== 'string') throw invalidArgument(`invalid ${where}${key}: expected a string`);
    config[key] = field;
  }
  return config;
}

/**
 * `X-Registry-Auth` (push, pull): base64url of a JSON AuthConfig. Absent or empty means no
 * credentials for the call, as does `{}` (what docker sends when it has none).
 */
export function registryAuthHeader(req: IncomingMessage): AuthConfig | undefined {
  const value = decodeHeader(req, 'X-Registry-Auth');
  if (value === undefined) return undefined;
  const config = authConfigFrom(value, 'X-Registry-Auth header: ');
  return Object.keys(config).length === 0 ? undefined : config;
}

/**
 * `X-Registry-Auth` as dockerd reads it for a pull, a push and a search: one it cannot decode
 * is no credentials, not an error ("to increase compatibility with the existing API").
 */
export function lenientRegistryAuthHeader(req: IncomingMessage): AuthConfig | undefined {
  try {
    return registryAuthHeader(req);
  } catch {
    return undefined;
  }
}

/** `X-Registry-Config` (build): base64url of a JSON map from registry to AuthConfig, for FROM pulls. */
export function registryConfigHeader(req: IncomingMessage): Record<string, AuthConfig> {
  const value = decodeHeader(req, 'X-Registry-Config');
  const out: Record<string, AuthConfig> = {};
  for (const [server, entry] of Object.entries(value ?? {})) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw invalidArgument(`invalid X-Registry-Config header: the entry for "${server}" must be an object`);
    }
    out[server] = authConfigFrom(entry as Record<string, unknown>, `X-Registry-Config header, entry "${server}": `);
  }
  return out;
}

/** A header's base64url (or standard base64) JSON object; undefined when absent or empty. */
function decodeHeader(req: IncomingMessage, name: string): Record<string, unknown> | undefined {
  const raw = req.headers[name.toLowerCase()];
  const text = (Array.isArray(raw) ? raw[0] : raw)?.trim() ?? '';
  if (text === '') return undefined;
  // Node's decoder skips characters outside the alphabet; a header with any is refused instead.
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    throw invalidArgument(`invalid ${name} header: not base64url-encoded JSON`, { hint: `send base64url(JSON) in ${name}, or leave it out` });
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch (error) {
    throw invalidArgument(`invalid ${name} header: the decoded value is not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(`invalid ${name} header: expected a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`);
  }
  return value as Record<string, unknown>;
}
