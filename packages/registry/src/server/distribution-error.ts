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

/**
 * An error a server answers with in distribution's errcode shape (notary's server uses it too):
 * `wire` is the message the body carries, which the error's own message may add to.
 */
export class ErrcodeError<Code extends string> extends Error {
  constructor(
    readonly code: Code,
    readonly status: number,
    private readonly wire: string,
    readonly detail?: unknown,
  ) {
    super(wire);
  }

  body(): string {
    const entry: { code: string; message: string; detail?: unknown } = { code: this.code, message: this.wire };
    if (this.detail !== undefined) entry.detail = this.detail;
    return JSON.stringify({ errors: [entry] });
  }
}

export class DistributionError extends ErrcodeError<DistributionErrorCode> {
  constructor(code: DistributionErrorCode, detail?: unknown, message?: string) {
    super(code, codes[code][0], message ?? codes[code][1], detail);
  }
}
