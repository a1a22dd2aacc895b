import { ErrcodeError } from './distribution-error';

/**
 * notary-server's error codes (server/errors/errors.go, group notary.api.v1) with their status
 * and message; the body is distribution's errcode shape `{"errors":[{code,message,detail}]}`.
 */
const codes = {
  NO_FILENAME: [400, 'No file/role name provided.'],
  INVALID_ROLE: [400, 'The role you are attempting to operate on is invalid.'],
  MALFORMED_JSON: [400, 'JSON sent by the client could not be parsed by the server'],
  VERSION: [400, 'A newer version of metadata is already available.'],
  METADATA_NOT_FOUND: [404, 'You have requested metadata that does not exist.'],
  INVALID_UPDATE: [400, 'Update sent by the client is invalid.'],
  MALFORMED_UPLOAD: [400, 'The body of your request is malformed.'],
  GENERIC_NOT_FOUND: [404, 'You have requested a resource that does not exist.'],
  INVALID_GUN: [400, 'The server does not support actions on images of this name.'],
  UPDATING: [500, 'An error has occurred while updating the TUF repository.'],
  UNAUTHORIZED: [401, 'authentication required'],
  UNKNOWN: [500, 'unknown error'],
} as const;

export type NotaryErrorCode = keyof typeof codes;

export class NotaryError extends ErrcodeError<NotaryErrorCode> {
  constructor(code: NotaryErrorCode, detail?: unknown) {
    super(code, codes[code][0], codes[code][1], detail);
  }
}

/** tuf/validation's errors, serialised as notary does (`{"Name":…,"Error":{…}}`) into INVALID_UPDATE's detail. */
export type ValidationName = 'ErrValidation' | 'ErrBadHierarchy' | 'ErrBadRoot' | 'ErrBadTargets' | 'ErrBadSnapshot';

const PREFIX: Record<ValidationName, string> = {
  ErrValidation: 'An error occurred during validation',
  ErrBadHierarchy: 'Metadata hierarchy is incomplete',
  ErrBadRoot: 'The root metadata is invalid',
  ErrBadTargets: 'The targets metadata is invalid',
  ErrBadSnapshot: 'The snapshot metadata is invalid',
};

export function invalidUpdate(name: ValidationName, msg: string, missing?: string): NotaryError {
  const error = missing === undefined ? { Msg: msg } : { Missing: missing, Msg: msg };
  const failure = new NotaryError('INVALID_UPDATE', { Name: name, Error: error });
  // The message a person reads in the server's log and in tests; the wire carries notary's detail.
  failure.message = `${failure.message} ${PREFIX[name]}: ${msg}`;
  return failure;
}
