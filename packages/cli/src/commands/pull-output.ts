import type { Writable } from 'node:stream';
import { familiarName, parseNormalizedReference, parseReference, referenceName, type Platform } from '@ctr/image';
import type { LayerProgress, PushLayerProgress } from '@ctr/api';
import type { PushedTag } from '@ctr/engine';
import { engineModule, type CliEngine } from '../context';
import { ProgressView } from '../progress';

export interface PullOutputOptions {
  platform?: Platform;
  /** Nothing shown (`-q`). */
  quiet?: boolean;
  /** "Using default tag: latest" first, for a reference without one (`docker pull` says so; `docker run` does not). */
  tellDefaultTag?: boolean;
}

/** docker's last line of a pull: whether `name` now means another image than before. */
function outcomeLine(updated: boolean, name: string): string {
  return `Status: ${updated ? 'Downloaded newer image for' : 'Image is up to date for'} ${name}\n`;
}

/**
 * Pull `ref` showing what docker shows on `out`: where from, each layer's progress (bars on
 * a terminal, a line per status otherwise), the digest and the outcome (a newer image, or
 * the one the name already meant). `pull` shows it on stdout; `run` and `create` on stderr,
 * which keeps their stdout the container's. Resolves with the image's familiar name.
 */
export async function pullShowingProgress(engine: CliEngine, ref: string, out: Writable, options: PullOutputOptions = {}): Promise<string> {
  const { familiarImageName, normalizeImageName } = engineModule();
  const name = familiarImageName(normalizeImageName(ref));
  const platform = options.platform ? { platform: options.platform } : {};
  if (options.quiet) {
    await engine.pull(ref, platform);
    return name;
  }
  const reference = parseNormalizedReference(ref);
  if (options.tellDefaultTag && !/[:@]/.test(ref.slice(ref.lastIndexOf('/') + 1))) out.write('Using default tag: latest\n');
  // Docker's outcome line says whether the name now means another image than before.
  const before = await engine.inspectImage(ref).then((image) => image.Id, () => undefined);
  // As dockerd: "Pulling from" once the manifest is found, so a name the registry does not know says only that.
  let found = false;
  const pulling = (): void => {
    if (!found) out.write(`${reference.tag ?? reference.digest}: Pulling from ${reference.path}\n`);
    found = true;
  };
  const view = new ProgressView(out);
  const onProgress = (event: LayerProgress): void => {
    pulling();
    if (event.kind === 'layer') view.update(event);
  };
  const image = await engine.pull(ref, { ...platform, onProgress });
  pulling();
  out.write(`Digest: ${image.record.target.digest}\n${outcomeLine(image.record.id !== before, name)}`);
  return name;
}

/**
 * `pull --all-tags` of `repository` (a name without tag or digest) showing what docker
 * shows: for each tag the registry lists, where from, its layers and its digest; then one
 * outcome for the repository.
 */
export async function pullAllTagsShowingProgress(engine: CliEngine, repository: string, out: Writable, options: PullOutputOptions = {}): Promise<void> {
  const platform = options.platform ? { platform: options.platform } : {};
  if (options.quiet) {
    await engine.pullAllTags(repository, platform);
    return;
  }
  const reference = parseReference(repository);
  // Each tag's layers are drawn under its own "Pulling from" line.
  let view = new ProgressView(out);
  const { updated } = await engine.pullAllTags(repository, {
    ...platform,
    onTag: (event) => {
      if (event.status === 'Pulled') return void out.write(`Digest: ${event.digest}\n`);
      out.write(`${event.tag}: Pulling from ${reference.path}\n`);
      view = new ProgressView(out);
    },
    onProgress: (event) => event.kind === 'layer' && view.update(event),
  });
  out.write(outcomeLine(updated, familiarName(reference)));
}

export interface PushOutputOptions {
  platform?: Platform;
  /** Nothing shown (`-q`). */
  quiet?: boolean;
  /** Every tag of the repository (`-a`). */
  allTags?: boolean;
}

/**
 * The repository `docker push` says it pushes to: the reference's full name, or with `allTags`
 * the repository of a reference that must have no tag. Refuses what docker's client refuses
 * (a digest; a tag with `-a`) before anything is said.
 */
export function pushRepository(ref: string, allTags: boolean): string {
  const { allTagsRepository, pushName } = engineModule();
  return allTags ? allTagsRepository(ref) : referenceName(parseReference(pushName(ref)));
}

/**
 * Push `ref` showing what docker shows for a push on `out` (what `docker push` and `docker
 * trust sign` both draw from dockerd's messages): "The push refers to repository [NAME]", each
 * layer's progress (bars on a terminal, a line per status otherwise) and each tag's digest line
 * under its layers. Resolves with each tag pushed.
 */
export async function pushShowingProgress(engine: CliEngine, ref: string, out: Writable, options: PushOutputOptions = {}): Promise<PushedTag[]> {
  const platform = options.platform ? { platform: options.platform } : {};
  const tag = parseReference(ref).tag ?? 'latest';
  if (options.quiet) return options.allTags ? engine.pushAllTags(ref, platform) : [{ tag, ...(await engine.push(ref, platform)) }];
  out.write(`The push refers to repository [${pushRepository(ref, options.allTags === true)}]\n`);
  // Each tag's layers are drawn above its digest line; docker shows a push's layers, not the image config.
  let view = new ProgressView(out);
  const onProgress = (event: PushLayerProgress): void => {
    if (event.kind === 'layer') view.update(event);
  };
  const pushed = (result: PushedTag): void => {
    out.write(`${result.tag}: digest: ${result.digest} size: ${result.size}\n`);
    view = new ProgressView(out);
  };
  if (options.allTags) return engine.pushAllTags(ref, { ...platform, onProgress, onPushed: pushed });
  const result = { tag, ...(await engine.push(ref, { ...platform, onProgress })) };
  pushed(result);
  return [result];
}
