import type { Digest } from '@ctr/image';

/**
 * dockerd's per-layer statuses of a pull (classic store), in the order a layer goes through
 * them: "Pulling fs layer" when its download is queued, "Waiting" while it has no download
 * slot yet, "Downloading" (bytes), "Verifying Checksum", "Download complete"; then
 * "Extracting" (compressed bytes read) and "Pull complete" once it is unpacked. A layer
 * that is here already says "Already exists" instead, and an image that is here in full
 * says nothing per layer.
 */
export type PullStatus =
  | 'Pulling fs layer'
  | 'Waiting'
  | 'Downloading'
  | 'Verifying Checksum'
  | 'Download complete'
  | 'Already exists'
  | 'Extracting'
  | 'Pull complete';

/**
 * One progress event of a pull, for a CLI to draw Docker's progress bars: `id` is the
 * 12-character short digest of the layer's blob, as dockerd shows it; `current`/`total`
 * are bytes (for "Extracting", compressed bytes read of the blob, as dockerd counts them).
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

/**
 * dockerd's statuses for a pushed layer: "Preparing" for every layer first, "Waiting" for
 * one without an upload slot yet, then "Pushing" (bytes) and "Pushed", or "Layer already
 * exists", or "Mounted from <repository path>"; a foreign (non-distributable) layer is
 * "Skipped foreign layer".
 */
export type PushStatus = 'Preparing' | 'Waiting' | 'Pushing' | 'Pushed' | 'Layer already exists' | 'Skipped foreign layer' | `Mounted from ${string}`;

export interface PushProgress {
  /**
   * The 12-character ID dockerd (classic store) shows for a pushed layer: the short form of
   * its diffID (the digest of the uncompressed layer, from the image config), not of the
   * blob — so `docker push` and `docker pull` show one layer under two IDs, as they do with
   * dockerd. The blob's own short digest when the config names no diffID for it.
   */
  id: string;
  /** The blob's digest. */
  digest: Digest;
  /** Docker shows a push's layers only: the image config goes up unseen. */
  kind: 'config' | 'layer';
  status: PushStatus;
  current?: number;
  total?: number;
}

/** go-units' HumanSize, which docker's progress lines use: decimal units, four significant digits. */
function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${Number(value.toPrecision(4))}${units[unit]}`;
}

/**
 * docker's text for the bytes of a progress event (jsonmessage's `JSONProgress.String()`):
 * nothing without any; else the bar, when `width` (the terminal's columns) is more than
 * 110, and the counts, the current one padded to 8 characters — `[=====>      ]  1.049MB/2.22MB`.
 * dockerd, which has no terminal, counts 200 columns: its messages' `progress` has the bar.
 */
export function progressText(current: number | undefined, total: number | undefined, width = 200): string {
  const done = current ?? 0;
  const whole = total ?? 0;
  if (done <= 0 && whole <= 0) return '';
  if (whole <= 0) return humanSize(done).padStart(8);
  const percentage = Math.min(50, Math.trunc(Math.trunc((done / whole) * 100) / 2));
  const bar = width > 110 ? `[${'='.repeat(percentage)}>${' '.repeat(50 - percentage)}] ` : '';
  // docker leaves the total out when the count runs past it.
  const numbers = done > whole ? humanSize(done).padStart(8) : `${humanSize(done).padStart(8)}/${humanSize(whole)}`;
  return bar + numbers;
}
