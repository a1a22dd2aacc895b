import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { CtrError, invalidArgument } from '@ctr/errors';
import { goJsonScan } from '@ctr/image';

/** More than any real create/exec/network body; a bigger one is an attack or a bug, not a request. */
export const JSON_BODY_LIMIT = 4 * 1024 * 1024;

/** How much of a too-large body is read and dropped so that its sender can read the 413. */
const DISCARD_LIMIT = 4 * JSON_BODY_LIMIT;

/**
 * Read a small body whole, refusing one larger than `limit` bytes. The rest of a body that is
 * too large is read and dropped (up to a bound; past it the connection is cut): a reply sent
 * while the client still sends meets a reset connection, and the client never reads it.
 */
export async function readSmallBody(input: Readable, limit = JSON_BODY_LIMIT): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit + DISCARD_LIMIT) input.destroy();
    if (size <= limit) chunks.push(buffer);
  }
  if (size > limit) {
    throw new CtrError('ResourceExhausted', `request body too large: more than ${limit} bytes`, {
      hint: 'this endpoint takes a small JSON document',
      details: { requestTooLarge: true },
    });
  }
  return Buffer.concat(chunks);
}

/**
 * How dockerd's handler for a route reads its JSON body. They agree on the words for a body that
 * is not JSON, and differ on an empty body and on what follows the first value.
 */
export type JsonBodyReader =
  /** httputils.ReadJSON, most routes: a body declared empty is `{}`; after the value only `}`, `]` or nothing (json.Decoder's More). */
  | 'ReadJSON'
  /** The create decoder (runconfig loadJSON): as ReadJSON, but every body is decoded, so an empty one is EOF too. */
  | 'create'
  /** The commit decoder: as create, but its handler takes EOF (an empty or blank body) as no config. */
  | 'commit'
  /** registry.DecodeAuthConfigBody, `POST /auth`: one value decoded, whatever follows it unread. */
  | 'auth';

/** A JSON object body, read as dockerd's handler of `reader`'s kind reads it. */
export async function readJsonObject(req: IncomingMessage, reader: JsonBodyReader = 'ReadJSON'): Promise<Record<string, unknown>> {
  // DecodeAuthConfigBody alone reads its body whatever it is declared to be.
  if (reader !== 'auth') checkForJson(req);
  return parseJsonObject(await readSmallBody(req), reader, declaredEmpty(req));
}

/**
 * httputils.CheckForJSON: a body must be declared JSON, in dockerd's words when it is not. A
 * request that declares no type may only have a body declared empty, as a bare POST has.
 */
export function checkForJson(req: IncomingMessage): void {
  const declared = req.headers['content-type'] ?? '';
  if (declared === '' && declaredEmpty(req)) return;
  const [base = ''] = declared.split(';');
  const media = base.trim().toLowerCase();
  const malformed = mediaTypeError(media);
  if (malformed) throw invalidArgument(`malformed Content-Type header (${declared}): ${malformed}`);
  if (media !== 'application/json') throw invalidArgument(`unsupported Content-Type header (${declared}): must be 'application/json'`);
}

/** The longest run of RFC 2045 token characters at the start of `text`: printable ASCII but the tspecials. */
const TOKEN = /^[!#$%&'*+\-.^_`{|}~0-9a-z]*/i;

/** Go's mime.ParseMediaType refusals of a media type (its parameters are not checked here). */
function mediaTypeError(media: string): string | undefined {
  const type = (TOKEN.exec(media) as RegExpExecArray)[0];
  const rest = media.slice(type.length);
  if (type === '') return 'mime: no media type';
  if (rest === '') return undefined;
  if (!rest.startsWith('/')) return 'mime: expected slash after first token';
  const subtype = (TOKEN.exec(rest.slice(1)) as RegExpExecArray)[0];
  if (subtype === '') return 'mime: expected token after slash';
  if (rest.length > subtype.length + 1) return 'mime: unexpected content after media subtype';
  return undefined;
}

/**
 * Go's ContentLength 0: a Content-Length of 0, or neither it nor a chunked Transfer-Encoding. A
 * chunked body can still be empty, and ReadJSON decodes it (to EOF).
 */
function declaredEmpty(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return length === undefined ? req.headers['transfer-encoding'] === undefined : Number(length) === 0;
}

/**
 * The first JSON value of `body` as a JSON object; anything that is not is InvalidArgument (400),
 * in dockerd's words ("invalid JSON: …"). `null` is `{}`: decoding it into a Go struct sets nothing.
 */
export function parseJsonObject(body: Buffer, reader: JsonBodyReader, bodyDeclaredEmpty: boolean): Record<string, unknown> {
  // ReadJSON reads no body it was told is empty; the other decoders read to EOF regardless.
  if (bodyDeclaredEmpty && reader === 'ReadJSON') return {};
  const text = body.toString('utf8');
  const { error, valueEnd } = goJsonScan(text);
  if (valueEnd === undefined) {
    // json.Decoder's error: io.EOF when no value began, io.ErrUnexpectedEOF when one was cut short.
    const decoderError = error === 'unexpected end of JSON input' ? (GO_SPACE_ONLY.test(text) ? 'EOF' : 'unexpected EOF') : (error as string);
    if (reader === 'commit' && decoderError === 'EOF') return {};
    if (reader === 'auth') throw invalidArgument(`invalid X-Registry-Auth header: ${decoderError}`);
    throw invalidArgument(decoderError === 'EOF' ? 'invalid JSON: got EOF while reading request body' : `invalid JSON: ${decoderError}`);
  }
  const value = JSON.parse(text.slice(0, valueEnd)) as unknown;
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgument(`invalid JSON: expected an object, got ${describe(value)}`);
  }
  // json.Decoder.More is false at the end of input and before `}` or `]`: those are left unread, not refused.
  const next = text[valueEnd];
  if (reader !== 'auth' && next !== undefined && next !== '}' && next !== ']') throw invalidArgument('unexpected content after JSON');
  return value as Record<string, unknown>;
}

/** Nothing but the bytes Go's JSON scanner skips as space. */
const GO_SPACE_ONLY = /^[ \t\r\n]*$/;

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`.slice(0, 80);
}
