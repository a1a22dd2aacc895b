import { posix } from 'node:path';
import { invalidArgument } from '@ctr/errors';
import { digestHex, parseDigest, type Digest } from './digest';

/**
 * Paths inside an archive (tar entry names, and the paths manifest.json and index.json
 * point at) name entries of that archive only. They are never joined to a host path, and
 * anything that could climb out (`..`, absolute paths, NUL) is refused, not cleaned up:
 * an archive that tries it is hostile (CVE-2014-6407).
 */
export function archivePath(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') {
    throw invalidArgument(`${what}: expected a path inside the archive, got ${JSON.stringify(value)}`);
  }
  if (value.includes('\0') || value.startsWith('/')) {
    throw invalidArgument(`${what}: "${value}" is not a relative path inside the archive`);
  }
  if (value.split('/').includes('..')) {
    throw invalidArgument(`${what}: "${value}" points outside the archive`);
  }
  const normal = posix.normalize(value).replace(/\/+$/, '');
  if (normal === '.' || normal === '') {
    throw invalidArgument(`${what}: "${value}" names the archive root, not a file in it`);
  }
  return normal;
}

/** Where a symlink entry points, as an archive path; links that leave the archive are refused. */
export function archiveLinkTarget(entry: string, linkname: unknown, hardlink: boolean): string {
  if (typeof linkname !== 'string' || linkname === '') {
    throw invalidArgument(`archive entry "${entry}" is a link with no target`);
  }
  // Hardlink names are archive paths already; symlink targets are relative to the link's directory.
  const joined = hardlink ? linkname : posix.join(posix.dirname(entry), linkname);
  if (linkname.startsWith('/') || posix.normalize(joined).split('/').includes('..')) {
    throw invalidArgument(`archive entry "${entry}" links to "${linkname}", outside the archive`);
  }
  return archivePath(posix.normalize(joined), `link target of "${entry}"`);
}

const BLOB_PATH = /^blobs\/([^/]+)\/([^/]+)$/;

/** The digest a `blobs/<algorithm>/<hex>` path names, validated; undefined for other paths. */
export function digestOfBlobPath(path: string): Digest | undefined {
  const match = BLOB_PATH.exec(path);
  if (match === null) return undefined;
  return parseDigest(`${match[1]}:${match[2]}`);
}

/** The OCI image-layout path of a blob. The digest is validated before it becomes a path. */
export function blobPath(digest: Digest): string {
  return `blobs/sha256/${digestHex(parseDigest(digest))}`;
}
