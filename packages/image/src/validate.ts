import { invalidArgument } from '@ctr/errors';
import { isAbsoluteUrl, isBase64, isDateTime, isEnvEntry } from './formats';
import { parseJson, type JsonValue } from './json';
import { ociSchemaFiles } from './oci-schemas';

/**
 * Strict validation against the OCI image-spec JSON schemas, as upstream's validator does
 * it: the schema, plus the checks the Go types add (registered digest algorithms must be
 * well-formed, `data` must be padded base64, `Env` entries must be `KEY=value`).
 *
 * This is for documents we make and for a strict mode; parsing (`parseManifest` …) is
 * what guards the engine. The two differ on purpose: the schema wants at least one layer,
 * while registries must accept layer-less artifact manifests.
 */

export type OciDocumentKind = 'manifest' | 'index' | 'config' | 'descriptor' | 'layout';

export interface SchemaProblem {
  /** JSON pointer to the offending member, "" for the document. */
  path: string;
  message: string;
}

const SCHEMA_FILES: Record<OciDocumentKind, string> = {
  manifest: 'image-manifest-schema.json',
  index: 'image-index-schema.json',
  config: 'config-schema.json',
  descriptor: 'content-descriptor.json',
  layout: 'image-layout-schema.json',
};

/** Digest algorithms the image-spec registers, and the encodings they require. */
const REGISTERED_DIGESTS: Record<string, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};
const REF_PREFIX = 'oci-schema:';

type Validator = ((value: unknown) => boolean) & { errors?: { instancePath: string; message?: string }[] | null };
let validators: Map<OciDocumentKind, Validator> | undefined;

/** Problems with `document` (bytes, JSON text, or an already parsed value) under the OCI schema for `kind`; empty when valid. */
export function schemaProblems(kind: OciDocumentKind, document: unknown): SchemaProblem[] {
  let value: unknown = document;
  if (typeof document === 'string' || document instanceof Uint8Array) {
    try {
      value = parseJson(document, { what: kind });
    } catch (error) {
      return [{ path: '', message: (error as Error).message }];
    }
  }
  const validate = compiled().get(kind);
  if (validate === undefined) throw invalidArgument(`unknown OCI document kind "${String(kind)}"`);
  const problems: SchemaProblem[] = [];
  if (!validate(value)) {
    for (const error of validate.errors ?? []) problems.push({ path: error.instancePath, message: error.message ?? 'is invalid' });
  }
  problems.push(...typeProblems(kind, value as JsonValue));
  return problems;
}

/** Throw InvalidArgument listing what is wrong when `document` does not satisfy the OCI schema for `kind`. */
export function validateOciDocument(kind: OciDocumentKind, document: unknown): void {
  const problems = schemaProblems(kind, document);
  if (problems.length === 0) return;
  const listed = problems.map((p) => `${p.path === '' ? '(document)' : p.path} ${p.message}`).join('; ');
  throw invalidArgument(`${kind} does not follow the OCI image-spec schema: ${listed}`, { details: { problems } });
}

/** The checks upstream's Go types make before the schema sees the document. */
function typeProblems(kind: OciDocumentKind, value: JsonValue): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const descriptor = (item: JsonValue | undefined, path: string): void => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return;
    const digest = item['digest'];
    if (typeof digest === 'string') {
      const [algorithm = '', encoded = ''] = digest.split(':', 2);
      const rule = REGISTERED_DIGESTS[algorithm];
      if (rule !== undefined && !rule.test(encoded)) {
        problems.push({ path: `${path}/digest`, message: `is not a valid ${algorithm} digest` });
      }
    }
    const data = item['data'];
    if (typeof data === 'string' && !isBase64(data)) problems.push({ path: `${path}/data`, message: 'is not padded base64' });
  };
  const each = (items: JsonValue | undefined, path: string): void => {
    if (Array.isArray(items)) items.forEach((item, i) => descriptor(item, `${path}/${i}`));
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return problems;
  switch (kind) {
    case 'descriptor':
      descriptor(value, '');
      break;
    case 'manifest':
      descriptor(value['config'], '/config');
      each(value['layers'], '/layers');
      descriptor(value['subject'], '/subject');
      break;
    case 'index':
      each(value['manifests'], '/manifests');
      descriptor(value['subject'], '/subject');
      break;
    case 'config': {
      const config = value['config'];
      const env = typeof config === 'object' && config !== null && !Array.isArray(config) ? config['Env'] : undefined;
      if (Array.isArray(env)) {
        env.forEach((entry, i) => {
          if (typeof entry === 'string' && !isEnvEntry(entry)) {
            problems.push({ path: `/config/Env/${i}`, message: 'must be of the form KEY=value' });
          }
        });
      }
      break;
    }
    default:
      break;
  }
  return problems;
}

function compiled(): Map<OciDocumentKind, Validator> {
  if (validators !== undefined) return validators;
  // Loaded on first use: the validator costs tens of milliseconds to load, and most
  // processes (every `ctr run`) never validate against the schemas.
  const { default: Ajv } = require('ajv-draft-04') as typeof import('ajv-draft-04');
  const ajv = new Ajv({ allErrors: true });
  ajv.addKeyword({ keyword: 'media' }); // informational only (base64 hint in defs.json)
  ajv.addFormat('uri', isAbsoluteUrl);
  ajv.addFormat('date-time', isDateTime);
  for (const [file, schema] of Object.entries(ociSchemaFiles)) ajv.addSchema(rebase(schema) as object, REF_PREFIX + file);
  const out = new Map<OciDocumentKind, Validator>();
  for (const [kind, file] of Object.entries(SCHEMA_FILES) as [OciDocumentKind, string][]) {
    const validate = ajv.getSchema(REF_PREFIX + file);
    if (validate === undefined) throw invalidArgument(`OCI schema ${file} is missing`);
    out.set(kind, validate as Validator);
  }
  validators = out;
  return out;
}

/**
 * The upstream schemas refer to each other by file name (`defs.json#/…`) from inside
 * members that carry their own `id`s, so a validator would resolve those names against
 * URLs that exist nowhere. Register each file under one name and point the references at
 * it; nothing else about the schemas changes.
 */
function rebase(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rebase);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'id' && typeof value === 'string') continue;
    if (key === '$ref' && typeof value === 'string' && /^[a-z-]+\.json(?:#|$)/.test(value)) {
      out[key] = REF_PREFIX + value;
    } else {
      out[key] = rebase(value);
    }
  }
  return out;
}
