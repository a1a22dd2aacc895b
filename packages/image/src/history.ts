import type { HistoryEntry } from './config';

/**
 * `created_by` texts as Docker's current builder (BuildKit) writes them, so `docker
 * history` shows ctr-built images the way users know: `RUN /bin/sh -c make # buildkit`
 * for steps that ran with a filesystem, `CMD ["sh"]` for metadata-only steps.
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
  const created = options.created ?? new Date();
  const entry: HistoryEntry = {
    created: typeof created === 'string' ? created : created.toISOString(),
    created_by: createdBy,
  };
  if (options.author !== undefined) entry.author = options.author;
  if (options.comment !== undefined) entry.comment = options.comment;
  if (options.emptyLayer === true) entry.empty_layer = true;
  return entry;
}

/**
 * `created_by` for a Dockerfile instruction, e.g. `createdBy('COPY', 'app /app', true)`.
 * `ranWithFilesystem` marks steps that executed against the build's filesystem state
 * (RUN, COPY, ADD, WORKDIR), which BuildKit tags with `# buildkit`.
 */
export function createdBy(instruction: string, text: string, ranWithFilesystem: boolean): string {
  const line = text === '' ? instruction.toUpperCase() : `${instruction.toUpperCase()} ${text}`;
  return ranWithFilesystem ? `${line} # buildkit` : line;
}

/**
 * `created_by` for RUN: the command as executed (`/bin/sh -c …` for the shell form), with
 * the build args in effect first as `|<count> K=V …`, as BuildKit records them.
 */
export function createdByRun(command: readonly string[], buildArgs: Readonly<Record<string, string>> = {}): string {
  const args = Object.entries(buildArgs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const prefix = args.length === 0 ? '' : `|${args.length} ${args.map(([k, v]) => `${k}=${v}`).join(' ')} `;
  return createdBy('RUN', prefix + command.join(' '), true);
}
