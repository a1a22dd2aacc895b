import type { Writable } from 'node:stream';
import type { BuildEvent } from '@ctr/dockerfile';
import { invalidArgument } from '@ctr/errors';

interface StepLine {
  title: string;
  started: number;
  ended?: number;
  cached: boolean;
  /** The step's last output lines, shown while it runs. */
  tail: string[];
}

/** Output lines of the running step kept on screen, as buildx's tty view shows them. */
const TAIL = 6;

/**
 * `--progress tty`: buildx's terminal view in small — a header with the elapsed time, one
 * line per step (`=> CACHED [2/5] COPY …`, its time), the running step's last output lines
 * under it (`=> => # …`), redrawn in place; warnings after the last frame.
 */
export class BuildTtyView {
  private readonly steps: StepLine[] = [];
  private readonly warnings: string[] = [];
  private readonly start: number;
  private total = 0;
  private drawn = 0;
  private partial = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly out: Writable & { columns?: number },
    private readonly now: () => number = Date.now,
  ) {
    this.start = now();
  }

  event(event: BuildEvent): void {
    const current = this.steps[this.steps.length - 1];
    switch (event.type) {
      case 'step':
        // The running step's time moves on without events; nothing is drawn before the first step.
        this.timer ??= setInterval(() => this.draw(false), 100).unref();
        this.endStep();
        this.total = event.total;
        this.steps.push({ title: `[${event.step}/${event.total}] ${event.instruction}`, started: this.now(), cached: false, tail: [] });
        break;
      case 'cache-hit':
        if (current) current.cached = true;
        break;
      case 'output':
        if (current) {
          const lines = (this.partial + event.data.toString('utf8')).split('\n');
          this.partial = lines.pop() ?? '';
          current.tail = [...current.tail, ...lines].slice(-TAIL);
        }
        break;
      case 'warning':
        this.warnings.push(event.message);
        break;
      default:
        return;
    }
    this.draw(false);
  }

  /** The last frame (every step ended, no output lines), then the warnings. */
  finish(): void {
    if (this.timer !== undefined) {
      clearInterval(this.timer);
      this.endStep();
      this.draw(true);
    }
    for (const warning of this.warnings) this.out.write(`WARNING: ${warning}\n`);
  }

  private endStep(): void {
    const current = this.steps[this.steps.length - 1];
    if (current && current.ended === undefined) current.ended = this.now();
    this.partial = '';
  }

  private draw(done: boolean): void {
    const width = Math.max(20, (this.out.columns ?? 80) - 1);
    const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
    const fit = (left: string, right = ''): string => {
      const room = width - right.length - 1;
      const text = left.length > room ? left.slice(0, room) : left.padEnd(room);
      return right ? `${text} ${right}` : text.trimEnd();
    };
    const finished = this.steps.filter((s) => s.ended !== undefined).length;
    const lines = [`[+] Building ${seconds(this.now() - this.start)} (${finished}/${this.total})${done ? ' FINISHED' : ''}`];
    for (const step of this.steps) {
      lines.push(fit(` => ${step.cached ? 'CACHED ' : ''}${step.title}`, seconds((step.ended ?? this.now()) - step.started)));
      if (step.ended === undefined) for (const line of step.tail) lines.push(fit(` => => # ${line}`));
    }
    // Up to the first line drawn, each line cleared as it is written again; what the last frame had more is cleared below.
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A\r` : '';
    for (const line of lines) text += `\x1b[2K${line}\n`;
    text += '\x1b[J';
    this.drawn = lines.length;
    this.out.write(text);
  }
}

/** What buildx's `--progress` asks for, as ctr prints it; without the flag, the classic builder's lines. */
export type ProgressMode = 'plain' | 'tty' | 'quiet' | 'rawjson';

export function progressMode(value: string | undefined, quiet: boolean, stdout: { isTTY?: boolean }): ProgressMode {
  if (quiet) return 'quiet';
  const mode = value ?? 'plain';
  switch (mode) {
    case 'auto':
      return stdout.isTTY ? 'tty' : 'plain';
    case 'plain':
    case 'tty':
    case 'quiet':
    case 'rawjson':
      return mode;
    default:
      throw invalidArgument(`invalid progress mode "${value}"`, { hint: 'Use auto, plain, tty, quiet or rawjson.' });
  }
}

export interface BuildOutput {
  onEvent?: (event: BuildEvent) => void;
  /** The build is over, whichever way: the terminal view draws its last frame. */
  close(): void;
  /** Print what follows a successful build: the ID (quiet) or the tags it got. */
  done(id: string, tagged: string[]): void;
}

/**
 * A build's output in `mode`: plain, the classic lines (`Step 1/3 : …`, `Successfully
 * tagged …`); quiet, the ID alone; rawjson, the Engine API's JSON messages (`{"stream": …}`,
 * then `{"aux": {"ID": …}}`), one a line; tty, `BuildTtyView`.
 */
export function buildOutput(mode: ProgressMode, out: Writable & { columns?: number }, format: (event: BuildEvent) => string): BuildOutput {
  const line = (text: string): boolean => out.write(`${text}\n`);
  switch (mode) {
    case 'quiet':
      return { close: () => undefined, done: (id) => line(id) };
    case 'rawjson': {
      const json = (message: object): boolean => line(JSON.stringify(message));
      return {
        onEvent: (event) => {
          const text = format(event);
          if (text) json({ stream: text });
        },
        close: () => undefined,
        done: (id, tagged) => {
          json({ aux: { ID: id } });
          for (const name of tagged) json({ stream: `Successfully tagged ${name}\n` });
        },
      };
    }
    case 'tty': {
      const view = new BuildTtyView(out);
      return { onEvent: (event) => view.event(event), close: () => view.finish(), done: () => undefined };
    }
    case 'plain':
      return { onEvent: (event) => out.write(format(event)), close: () => undefined, done: (_id, tagged) => tagged.forEach((name) => line(`Successfully tagged ${name}`)) };
  }
}
