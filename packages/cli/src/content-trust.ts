import { unsupported } from '@ctr/errors';
import { bool, type FlagSpec, type ParsedArgs } from './flags';

/** docker's rule: DOCKER_CONTENT_TRUST turns trust on unless it is a false boolean ('0', 'false', 'F'…); anything else counts as on. */
function contentTrustEnabled(env: NodeJS.ProcessEnv): boolean {
  const value = env.DOCKER_CONTENT_TRUST;
  if (value === undefined || value === '') return false;
  return !['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value);
}

/**
 * `--disable-content-trust` of the commands the docker CLI verifies signatures for (pull, push,
 * run, create): its default follows DOCKER_CONTENT_TRUST as docker's does.
 */
export const contentTrustFlag: FlagSpec = {
  name: 'disable-content-trust',
  type: 'bool',
  description: 'Skip image verification',
  default: !contentTrustEnabled(process.env),
};

/**
 * With trust on, the docker CLI resolves tags through a Notary server and refuses what is not
 * signed. ctr has no Notary client: it refuses instead of using an image unverified that its
 * user asked to be verified. `image`: what pull, run or create name — a digest reference or a
 * full image ID names its content already, and docker's CLI asks no Notary for it either.
 */
export function refuseContentTrust(args: ParsedArgs, image?: string): void {
  if (bool(args, 'disable-content-trust')) return;
  if (image !== undefined && (image.includes('@') || /^(sha256:)?[0-9a-f]{64}$/.test(image))) return;
  throw unsupported('content trust is not supported: ctr cannot verify image signatures (Docker Content Trust, Notary)', {
    hint: 'unset DOCKER_CONTENT_TRUST, or pass --disable-content-trust to use the image unverified',
  });
}
