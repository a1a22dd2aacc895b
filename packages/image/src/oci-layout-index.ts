import { CtrError, invalidArgument } from '@ctr/errors';
import { Annotations, type Descriptor } from './descriptor';
import { isJsonObject, parseJson } from './json';
import { formatReference, parseNormalizedReference, type Reference } from './reference';

/** Refuse an `oci-layout` file of a layout version we do not know (absent is accepted). */
export function checkLayoutVersion(bytes: Buffer | undefined): void {
  if (bytes === undefined) return;
  const doc = parseJson(bytes, { what: 'oci-layout' });
  const version = isJsonObject(doc) ? doc['imageLayoutVersion'] : undefined;
  if (typeof version !== 'string' || !version.startsWith('1.')) {
    throw new CtrError('Unsupported', `OCI image layout version ${JSON.stringify(version)} is not supported (expected 1.x)`);
  }
}

/**
 * The names an index.json entry gives its image: containerd's full-name annotation, else
 * an `org.opencontainers.image.ref.name` that is a reference. A bare tag (`latest`, as
 * umoci writes) is not a name on its own.
 */
export function namesFromAnnotations(descriptor: Descriptor): string[] {
  const annotations = descriptor.annotations ?? {};
  const imageName = annotations[Annotations.imageName];
  if (imageName !== undefined) return [imageName];
  const refName = annotations[Annotations.refName];
  return refName !== undefined && /[:/@]/.test(refName) ? [refName] : [];
}

/**
 * Names from an archive or layout in their full form (`busybox:latest` →
 * `docker.io/library/busybox:latest`), each once. A name that is not a reference is
 * refused: it would be tagged into a store.
 */
export function normalizeNames(names: Iterable<string>, what: string): string[] {
  const out = new Set<string>();
  for (const name of names) {
    try {
      out.add(formatReference(parseNormalizedReference(name)));
    } catch (cause) {
      throw invalidArgument(`${what} names the image "${name}", which is not a valid image reference`, { cause });
    }
  }
  return [...out];
}

/** A descriptor with only what names the content (no layout annotations). */
export function plainDescriptor(descriptor: Descriptor): Descriptor {
  const plain: Descriptor = { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size };
  if (descriptor.platform) plain.platform = descriptor.platform;
  return plain;
}

/**
 * An index.json entry as Docker and containerd write it: the full name in
 * `io.containerd.image.name`, the tag in `org.opencontainers.image.ref.name`.
 */
export function layoutEntry(descriptor: Descriptor, reference?: Reference): Descriptor {
  const entry = plainDescriptor(descriptor);
  if (reference === undefined) return entry;
  entry.annotations = {
    [Annotations.imageName]: formatReference(reference),
    ...(reference.tag === undefined ? {} : { [Annotations.refName]: reference.tag }),
  };
  return entry;
}

/** index.json lists an image once per name; callers want it once, with all its names. */
export function mergeByDigest<T extends { names: string[]; descriptor: Descriptor }>(images: readonly T[]): T[] {
  const byDigest = new Map<string, T>();
  for (const image of images) {
    const seen = byDigest.get(image.descriptor.digest);
    if (seen === undefined) byDigest.set(image.descriptor.digest, { ...image });
    else seen.names = [...new Set([...seen.names, ...image.names])];
  }
  return [...byDigest.values()];
}
