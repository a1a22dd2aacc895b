import type { Writable } from 'node:stream';
import { registryModule } from './context';

/** One layer's progress, as a pull or push reports it: `a1b2c3d4e5f6: Downloading [==>      ]  1.2MB/4.5MB`. */
export interface ProgressEvent {
  id: string;
  status: string;
  current?: number;
  total?: number;
  /** The progress drawn as given instead of byte counts (a swarm task's bar, which has none). */
  text?: string;
}

/**
 * docker's text for an event's bytes (bar and counts), from the registry package: only pulls
 * and pushes draw progress, and they have loaded it by then (`ctr run` starts without it).
 */
function progressText(current: number | undefined, total: number | undefined, width?: number): string {
  return registryModule().progressText(current, total, width);
}

/**
 * Draws per-layer progress byte for byte as the docker CLI draws a pull's or push's
 * messages (its DisplayJSONMessagesStream). On a terminal each layer keeps its own line:
 * a new layer opens one below the others, and an event rewrites its layer's line in place
 * (cursor up to it, erase, `id: status progress`, back down), so the cursor always rests
 * on the line below the last layer. Elsewhere an event is a line `id: status` unless it
 * carries byte counts ("Downloading", "Extracting", "Pushing"), which are left out.
 * A view is for one run of layer lines: whatever else is written after them needs a new one.
 */
export class ProgressView {
  private readonly lines = new Map<string, number>();

  constructor(private readonly out: Writable & { isTTY?: boolean; columns?: number }) {}

  update(event: ProgressEvent): void {
    if (!this.out.isTTY) {
      // What progressText draws nothing for (no counts), worked out without loading it.
      if (event.text === undefined ? (event.current ?? 0) <= 0 && (event.total ?? 0) <= 0 : event.text === '') this.out.write(`${event.id}: ${event.status}\n`);
      return;
    }
    let line = this.lines.get(event.id);
    let text = '';
    if (line === undefined) {
      line = this.lines.size;
      this.lines.set(event.id, line);
      text += '\n';
    }
    const up = this.lines.size - line;
    const progress = event.text ?? progressText(event.current, event.total, this.out.columns ?? 200);
    text += `\x1b[${up}A\x1b[2K\r${event.id}: ${event.status} ${progress}\r\x1b[${up}B`;
    this.out.write(text);
  }
}
