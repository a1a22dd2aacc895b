import path from 'node:path';

/** Where each part of a store lives under its root (the layout in DESIGN.md). */
export interface StorePaths {
  root: string;
  blobs: string;
  ingest: string;
  snapshots: string;
  images: string;
  volumes: string;
  leases: string;
  locks: string;
}

export function storePaths(root: string): StorePaths {
  const abs = path.resolve(root);
  return {
    root: abs,
    blobs: path.join(abs, 'content', 'blobs', 'sha256'),
    ingest: path.join(abs, 'content', 'ingest'),
    snapshots: path.join(abs, 'snapshots'),
    images: path.join(abs, 'images'),
    volumes: path.join(abs, 'volumes'),
    leases: path.join(abs, 'leases'),
    locks: path.join(abs, 'locks'),
  };
}

export type TempArea = 'content' | 'ingest' | 'snapshots' | 'images' | 'volumes' | 'leases' | 'locks';

/** Where the store makes temporary files (`tempName`), by area: what fsck and gc clear of killed processes' leftovers. */
export function tempDirectories(paths: StorePaths): Array<[TempArea, string]> {
  return [
    ['content', paths.blobs],
    ['ingest', paths.ingest],
    ['snapshots', paths.snapshots],
    ['images', paths.images],
    ['volumes', paths.volumes],
    ['leases', paths.leases],
    ['locks', paths.locks],
  ];
}
