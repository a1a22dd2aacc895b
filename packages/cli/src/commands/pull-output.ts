import type { Writable } from 'node:stream';
import { familiarName, parseReference, referenceName, type Platform } from '@ctr/image';
import type { PushLayerProgress } from '@ctr/api';
import type { PullMessage, PushedTag } from '@ctr/engine';
import { engineModule, type CliEngine } from '../context';
import { ProgressView } from '../progress';

export interface PullOutputOptions {
  platform?: Platform;
  /** Nothing shown (`-q`). */
  quiet?: boolean;
  /** "Using default tag: latest" first, for a reference without one (`docker pull` says so; `docker run` does not). */
  tellDefaultTag?: boolean;
}

/**
 * Writes dockerd's pull messages on `out` as docker's CLI draws them: a layer's through the
 * progress view `view()` gives (bars on a terminal, a line per status otherwise), any other
 * as its line (`latest: Pulling from library/busybox`, `Digest: …`).
 */
function pullLines(out: Writable, view: () => ProgressView): (message: PullMessage) => void {
  return (message) => {
    if (message.progress && message.id !== undefined) view().update({ id: message.id, status: message.status, ...message.progress });
    else out.write(`${message.id !== undefined ? `${message.id}: ` : ''}${message.status}\n`);
  };
}

/**
 * Pull `ref` showing what docker shows on `out`: where from, each layer's progress (bars on
 * a terminal, a line per status otherwise), the digest and the outcome (a newer image, or
 * the one the name already meant). `pull` shows it on stdout; `run` and `create` on stderr,
 * which keeps their stdout the container's. Resolves with the image's familiar name.
 */
export async function pullShowingProgress(engine: CliEngine, ref: string, out: Writable, options: PullOutputOptions = {}): Promise<string> {
  const { PullMessages, familiarImageName, normalizeImageName } = engineModule();
  const name = familiarImageName(normalizeImageName(ref));
  const platform = options.platform ? { platform: options.platform } : {};
  if (options.quiet) {
    await engine.pull(ref, platform);
    return name;
  }
  if (options.tellDefaultTag && !/[:@]/.test(ref.slice(ref.lastIndexOf('/') + 1))) out.write('Using default tag: latest\n');
  // Docker's outcome line says whether the name now means another image than before.
  const before = await engine.inspectImage(ref).then((image) => image.Id, () => undefined);
  const view = new ProgressView(out);
  const messages = new PullMessages(ref, pullLines(out, () => view));
  messages.pulled(await engine.pull(ref, { ...platform, onProgress: messages.progress }), before);
  return name;
}

/**
 * `pull --all-tags` of `repository` (a name without tag or digest) showing what docker
 * shows: for each tag the registry lists, where from, its layers and its digest; then one
 * outcome for the repository.
 */
export async function pullAllTagsShowingProgress(engine: CliEngine, repository: string, out: Writable, options: PullOutputOptions = {}): Promise<void> {
  const { layerMessage, pullOutcomeMessage, tagPullMessage } = engineModule();
  const platform = options.platform ? { platform: options.platform } : {};
  if (options.quiet) {
    await engine.pullAllTags(repository, platform);
    return;
  }
  const reference = parseReference(repository);
  // Each tag's layers are drawn under its own "Pulling from" line.
  let view = new ProgressView(out);
  const show = pullLines(out, () => view);
  const { updated } = await engine.pullAllTags(repository, {
    ...platform,
    onTag: (event) => {
      show(tagPullMessage(event, reference));
      if (event.status === 'Pulling') view = new ProgressView(out);
    },
    onProgress: (event) => {
      const message = layerMessage(event);
      if (message) show(message);
    },
  });
  show(pullOutcomeMessage(updated, familiarName(reference)));
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
