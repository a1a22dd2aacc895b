/**
 * The error codes of the distribution spec, with the HTTP status and the message the
 * reference registry answers with. A handler throws a DistributionError; the server turns
 * it into `{"errors":[{code,message,detail}]}` at the edge.
 */
const codes = {
  BLOB_UNKNOWN: [404, 'blob unknown to registry'],
  BLOB_UPLOAD_INVALID: [400, 'blob upload invalid'],
  BLOB_UPLOAD_UNKNOWN: [404, 'blob upload unknown to registry'],
  DIGEST_INVALID: [400, 'provided digest did not match uploaded content'],
  MANIFEST_BLOB_UNKNOWN: [400, 'blob unknown to registry'],
  MANIFEST_INVALID: [400, 'manifest invalid'],
  MANIFEST_UNKNOWN: [404, 'manifest unknown'],
  NAME_INVALID: [400, 'invalid repository name'],
  NAME_UNKNOWN: [404, 'repository name not known to registry'],
  SIZE_INVALID: [400, 'provided length did not match content length'],
  TAG_INVALID: [400, 'manifest tag did not match URI'],
  UNAUTHORIZED: [401, 'authentication required'],
  DENIED: [403, 'requested access to the resource is denied'],
  UNSUPPORTED: [405, 'The operation is unsupported.'],
  RANGE_INVALID: [416, 'invalid content range'],
  TOOMANYREQUESTS: [429, 'too many requests'],
} as const;

export type DistributionErrorCode = keyof typeof codes;

export class DistributionError extends Error {
  readonly status: number;

  constructor(
    readonly code: DistributionErrorCode,
    readonly detail?: unknown,
    message?: string,
  ) {
    super(message ?? codes[code][1]);
    this.status = codes[code][0];
  }

  body(): string {
    const entry: { code: string; message: string; detail?: unknown } = { code: this.code, message: this.message };
    if (this.detail !== undefined) entry.detail = this.detail;
    return JSON.stringify({ errors: [entry] });
  }
}
