import type { Digest } from '@ctr/image';

/** Docker's per-layer statuses, in the order a layer goes through them. */
export type PullStatus =
  | 'Waiting'
  | 'Downloading'
  | 'Verifying Checksum'
  | 'Download complete'
  | 'Already exists'
  | 'Extracting'
  | 'Pull complete';

/**
 * One progress event of a pull, for a CLI to draw Docker's progress bars: `id` is the
 * 12-character short digest Docker shows, `current`/`total` are bytes.
 * The registry client emits everything up to "Download complete" / "Already exists";
 * whoever unpacks the layers (the engine) emits "Extracting" and "Pull complete".
 */
export interface PullProgress {
  id: string;
  digest: Digest;
  kind: 'config' | 'layer';
  status: PullStatus;
  current?: number;
  total?: number;
}

/** Docker's statuses for a pushed layer. */
export type PushStatus = 'Preparing' | 'Waiting' | 'Pushing' | 'Pushed' | 'Layer already exists' | `Mounted from ${string}`;

export interface PushProgress {
  id: string;
  digest: Digest;
  /** Docker shows a push's layers only: the image config goes up unseen. */
  kind: 'config' | 'layer';
  status: PushStatus;
  current?: number;
  total?: number;
}
