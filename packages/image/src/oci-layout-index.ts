import { CtrError, invalidArgument } from '@ctr/errors';
import { Annotations, type Descriptor } from './descriptor';
import { isJsonObject, parseJson } from './json';
import { formatReference, parseNormalizedReference } from './reference';

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
