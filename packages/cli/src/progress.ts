import type { Writable } from 'node:stream';
import { humanSize } from './format';

/** One line of Docker's layer progress: `a1b2c3d4e5f6: Downloading [==>      ]  1.2MB/4.5MB`. */
export interface ProgressEvent {
  id: string;
  status: string;
  current?: number;
  total?: number;
}

function bar(current: number, total: number): string {
  const width = 50;
  const filled = Math.min(width, Math.floor((current / total) * width));
  const arrow = filled < width ? '>' : '';
  return `[${'='.repeat(Math.max(0, filled - (arrow ? 1 : 0)))}${arrow}${' '.repeat(width - filled)}] ${humanSize(current)}/${humanSize(total)}`;
}

function line(event: ProgressEvent): string {
  const detail = event.current !== undefined && event.total ? ` ${bar(event.current, event.total)}` : '';
  return `${event.id}: ${event.status}${detail}`;
}

/**
 * Draws per-layer progress the way docker does: on a terminal each layer keeps its own
 * line, redrawn in place; otherwise a line is printed when a layer's status changes.
 */
export class ProgressView {
  private readonly order: string[] = [];
  private readonly last = new Map<string, ProgressEvent>();
  private drawn = 0;

  constructor(private readonly out: Writable & { isTTY?: boolean }) {}

  update(event: ProgressEvent): void {
    const previous = this.last.get(event.id);
    if (!previous) this.order.push(event.id);
    this.last.set(event.id, event);
    if (this.out.isTTY) this.redraw();
    else if (previous?.status !== event.status && event.status !== 'Downloading' && event.status !== 'Pushing' && event.status !== 'Extracting') {
      this.out.write(`${event.id}: ${event.status}\n`);
    }
  }

  private redraw(): void {
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const id of this.order) text += `\x1b[2K${line(this.last.get(id) as ProgressEvent)}\n`;
    this.drawn = this.order.length;
    this.out.write(text);
  }
}
