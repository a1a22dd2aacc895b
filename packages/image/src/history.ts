import type { HistoryEntry } from './config';
import { nowRfc3339Nano } from './go-time';

/**
 * History entries (what `docker history` lists). The `created_by` text is the caller's:
 * the Dockerfile builder writes Docker's (@ctr/dockerfile `created-by.ts`), commit and
 * import write theirs.
 */

export interface HistoryOptions {
  /** True when the step added no layer (ENV, CMD, LABEL…). */
  emptyLayer?: boolean;
  /** When the step ran; default now. */
  created?: Date | string;
  author?: string;
  comment?: string;
}

/** One history entry, `created` as RFC 3339. */
export function historyEntry(createdBy: string, options: HistoryOptions = {}): HistoryEntry {
  const created = options.created ?? nowRfc3339Nano();
  const entry: HistoryEntry = {
    created: typeof created === 'string' ? created : created.toISOString(),
    created_by: createdBy,
  };
  if (options.author !== undefined) entry.author = options.author;
  if (options.comment !== undefined) entry.comment = options.comment;
  if (options.emptyLayer === true) entry.empty_layer = true;
  return entry;
}
