import { invalidArgument } from '@ctr/errors';
import type { Spec } from '../oci-spec';
import type { ImageConfig, RunOptions, SpecContext } from '../types';
import { parseSignal } from '../signals';
import { withDevices } from './devices';
import {
  applySpecOpts,
  baseSpec,
  type SpecOpt,
  withCapabilities,
  withHostname,
  withMounts,
  withNamespaces,
  withProcess,
  withResources,
  withRlimits,
  withSecurity,
  withSystemPaths,
} from './spec-opts';

const MAX_ENV_BYTES = 1024 * 1024;

/** R5 and R7: what an image config may not ask for. */
function checkImage(image: ImageConfig): void {
  for (const target of Object.keys(image.Volumes ?? {})) {
    if (/^\/+(proc|sys)(\/|$)/.test(target)) {
      throw invalidArgument(`image declares a volume over ${target}, which is not allowed`, {
        hint: 'an image may not mount anything over /proc or /sys',
      });
    }
  }
  const envBytes = (image.Env ?? []).reduce((n, e) => n + Buffer.byteLength(e) + 1, 0);
  if (envBytes > MAX_ENV_BYTES) throw invalidArgument(`image environment is ${envBytes} bytes, more than ${MAX_ENV_BYTES}`);
  if (image.StopSignal) parseSignal(image.StopSignal);
}

/**
 * The OCI runtime spec for a container of `image` run with `options`: Docker's
 * defaults (capabilities, masked paths, seccomp, device rules, mounts), then the
 * image's process, then the user's choices. Pure: every host fact it needs comes in
 * through `context` (resolve the user with `resolveUser` first). Extra `SpecOpt`s run
 * last, to adjust what the defaults made.
 */
export function generateSpec(
  image: ImageConfig,
  options: RunOptions = {},
  context: SpecContext = { id: 'container', rootfs: 'rootfs' },
  extra: readonly SpecOpt[] = [],
): Spec {
  checkImage(image);
  if (options.stopSignal) parseSignal(options.stopSignal);
  return applySpecOpts(baseSpec(context), [
    withHostname(options),
    withProcess(image, options, context),
    withCapabilities(options, context),
    withNamespaces(options, context),
    withMounts(options, context),
    withResources(options, context),
    withRlimits(options, context),
    withSecurity(options, context),
    // Privileged undoes the confinement the steps before it set up; paths given outright override even that.
    withDevices(options, context),
    withSystemPaths(options),
    ...extra,
  ]);
}
