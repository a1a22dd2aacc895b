import type { Writable } from 'node:stream';
import { parseNormalizedReference, type Platform } from '@ctr/image';
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
  out.write(`${reference.tag ?? reference.digest}: Pulling from ${reference.path}\n`);
  const view = new ProgressView(out);
  const image = await engine.pull(ref, { ...platform, onProgress: (event) => event.kind === 'layer' && view.update(event) });
  const outcome = image.record.id === before ? 'Image is up to date for' : 'Downloaded newer image for';
  out.write(`Digest: ${image.record.target.digest}\nStatus: ${outcome} ${name}\n`);
  return name;
}
