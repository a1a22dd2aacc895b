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
