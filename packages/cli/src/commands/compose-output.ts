import type { Writable } from 'node:stream';
import type { ComposeProgress, ComposeProject } from '@ctr/compose';
import { invalidArgument } from '@ctr/errors';
import type { Io } from '../command';
import { bool, type ParsedArgs } from '../flags';

/**
 * What `ctr compose` prints the way docker compose v2 prints it: the progress of its
 * operations (`[+] Running 2/2`), the services' output with their coloured `web-1  | `
 * prefixes, and the loader's warnings as logrus writes them.
 */

/** `--progress`: auto picks tty when stderr is a terminal (and ANSI is allowed), else plain. */
export type ProgressMode = 'auto' | 'tty' | 'plain' | 'quiet' | 'json';
export type AnsiMode = 'never' | 'always' | 'auto';

type Out = Writable & { isTTY?: boolean; columns?: number };

const ESC = '\x1b[';
const color = (code: string, text: string): string => `${ESC}${code}m${text}${ESC}0m`;

/** An event's words after its resource, as compose's event.StatusText. */
function statusText(event: ComposeProgress): string {
  if (event.status === 'Skipped') return event.detail ? `Skipped: ${event.detail}` : 'Skipped';
  if (event.status === 'Error' || event.status === 'Warning') return event.detail ?? event.status;
  return event.detail ? `${event.status} ${event.detail}` : event.status;
}

interface Line {
  event: ComposeProgress;
  started: number;
  ended?: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** What compose's `--dry-run` puts before each progress line (its api.DRYRUN_PREFIX). */
const DRY_RUN_PREFIX = ' DRY-RUN MODE - ';

/**
 * docker compose's progress writers. tty: one line per resource under `[+] Running done/total`,
 * the block redrawn in place (every 100 ms for the spinners and timers, and at each event);
 * plain: a line per event, ` Container app-web-1  Started` (Go's Println of an empty prefix,
 * the resource and the status); json: `{"id":…,"status":…}` per event; quiet: nothing. In
 * dry-run mode, each resource's line starts with ` DRY-RUN MODE - ` (after the glyph on a
 * terminal) and each JSON object with `"dry-run":true`.
 */
export class ComposeProgressView {
  private readonly lines = new Map<string, Line>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly out: Out,
    private readonly mode: Exclude<ProgressMode, 'auto'>,
    private readonly colored: boolean,
    private readonly dryRun = false,
  ) {}

  /** The callback the library's `onProgress` takes. */
  readonly update = (event: ComposeProgress): void => {
    if (this.stopped || this.mode === 'quiet') return;
    // A resource kind, its name, or (publish's repository) a name alone.
    const id = [event.resource, event.name].filter((part) => part !== '').join(' ');
    if (this.mode === 'plain') {
      this.out.write(`${this.prefix} ${id}  ${statusText(event)}\n`);
      return;
    }
    if (this.mode === 'json') {
      this.out.write(`${JSON.stringify({ ...(this.dryRun ? { 'dry-run': true } : {}), id, status: statusText(event) })}\n`);
      return;
    }
    const line = this.lines.get(id);
    const now = Date.now();
    if (line) {
      line.event = event;
      if (event.done || event.status === 'Error') line.ended ??= now;
      else delete line.ended;
    } else {
      this.lines.set(id, { event, started: now, ...(event.done || event.status === 'Error' ? { ended: now } : {}) });
    }
    this.timer ??= setInterval(() => this.draw(), 100).unref();
    this.draw();
  };

  /**
   * A line of another output (a build's, during `up`) above the progress: on a terminal the
   * block is erased, the line written, and the block drawn again below it, so neither is torn.
   */
  readonly print = (text: string): void => {
    if (this.stopped || this.mode === 'quiet') return;
    if (this.mode !== 'tty' || this.drawn === 0) {
      this.out.write(`${text}\n`);
      return;
    }
    this.out.write(`${ESC}${this.drawn}A\r${ESC}J${text}\n`);
    this.drawn = 0;
    this.draw();
  };

  private get prefix(): string {
    return this.dryRun ? DRY_RUN_PREFIX : '';
  }

  /** The last drawing: what follows (logs, the next operation's view) starts below it. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.mode === 'tty' && this.lines.size > 0) this.draw();
  }

  private draw(): void {
    const width = this.out.columns ?? 80;
    const lines = [...this.lines.entries()];
    const done = lines.filter(([, l]) => l.event.done && l.event.status !== 'Error').length;
    // Nothing left to animate: no redrawing until the next event (a `run`'s container may be writing below).
    if (lines.every(([, l]) => l.ended !== undefined) && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    let header = `[+] Running ${done}/${lines.length}`;
    if (this.colored && done === lines.length) header = color('34', header);
    const padTo = Math.max(...lines.map(([id]) => id.length));
    const now = Date.now();
    const rows = lines.map(([id, line]) => {
      const { event } = line;
      const failed = event.status === 'Error';
      const glyph = failed ? '✘' : event.done ? '✔' : (SPINNER[Math.floor((now - line.started) / 100) % SPINNER.length] as string);
      const text = ` ${glyph}${this.prefix} ${id}${' '.repeat(padTo - id.length)}  ${statusText(event)}`;
      const timer = `${(((line.ended ?? now) - line.started) / 1000).toFixed(1)}s`;
      const room = Math.max(width - timer.length - 2, 0);
      const row = `${text.length > room ? `${text.slice(0, Math.max(room - 3, 0))}...` : text.padEnd(room)} ${timer}`;
      if (!this.colored) return row;
      return color(failed ? '31' : event.done ? '34' : event.status === 'Warning' ? '33' : '37', row);
    });
    // Up to the block's first line, each line erased and written again, the cursor hidden meanwhile.
    const up = this.drawn > 0 ? `${ESC}${this.drawn}A` : '';
    this.out.write(`${up}\r${ESC}?25l${[header, ...rows].map((row) => `${ESC}2K${row}\n`).join('')}${ESC}?25h`);
    this.drawn = rows.length + 1;
  }
}

/**
 * Where the lines of the builds a verb makes go: after their service's name (`[web] Step 1/2 :
 * FROM busybox`) when the project has more than one service to build, as buildx names each
 * build's steps after its service, so builds made at once stay told apart; one build's lines
 * are docker build's own.
 */
export function buildLines(project: ComposeProject, write: (line: string) => void): (service: string, line: string) => void {
  const builds = Object.values(project.services).filter((service) => service.build !== undefined).length;
  return builds > 1 ? (service, line) => write(`[${service}] ${line}`) : (_service, line) => write(line);
}

/** The progress mode in force: `--progress` (or $COMPOSE_PROGRESS) checked against `--ansi`, as compose does. */
export function progressMode(progress: string, ansi: AnsiMode, stderr: Out): Exclude<ProgressMode, 'auto'> {
  switch (progress) {
    case '':
    case 'auto':
      return ansi !== 'never' && stderr.isTTY === true ? 'tty' : 'plain';
    case 'tty':
      if (ansi === 'never') throw invalidArgument("can't use --progress tty while ANSI support is disabled");
      return 'tty';
    case 'plain':
      if (ansi === 'always') throw invalidArgument("can't use --progress plain while ANSI support is forced");
      return 'plain';
    case 'quiet':
    case 'none':
      return 'quiet';
    case 'json':
      return 'json';
    default:
      throw invalidArgument(`unsupported --progress value ${JSON.stringify(progress)}`);
  }
}

/** Whether output to `out` is coloured: `--ansi always`, or auto on a terminal; never with $NO_COLOR set. */
function ansiEnabled(ansi: AnsiMode, out: Out, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR) return false;
  return ansi === 'always' || (ansi === 'auto' && out.isTTY === true);
}

/** compose's rainbow for log prefixes, in its order: cyan, yellow, green, magenta, blue, then their intense forms. */
const RAINBOW = ['36', '33', '32', '35', '34', '36;1', '33;1', '32;1', '35;1', '34;1'];

/**
 * docker compose's log consumer: each container's lines after `name | `, the names padded to
 * the longest seen so far plus one, each container its colour from the rainbow in the order
 * they first speak; `web-1 exited with code 0` in the container's colour.
 */
export class LogPrinter {
  private readonly colors = new Map<string, string | undefined>();
  private width = 0;

  constructor(
    private readonly io: Pick<Io, 'stdout' | 'stderr'>,
    private readonly options: { color: boolean; prefix: boolean; timestamps: boolean },
  ) {}

  /** Names known before their first line (up's attached containers): their prefixes line up from the start. */
  register(name: string): string | undefined {
    if (!this.colors.has(name)) {
      this.colors.set(name, this.options.color ? RAINBOW[this.colors.size % RAINBOW.length] : undefined);
      this.width = Math.max(this.width, name.length + 1);
    }
    return this.colors.get(name);
  }

  line(name: string, stream: 'stdout' | 'stderr', text: string, timestamp?: string): void {
    const code = this.register(name);
    let prefix = '';
    if (this.options.prefix) {
      prefix = `${name.padEnd(this.width)} | `;
      if (code) prefix = color(code, prefix);
    }
    const stamp = this.options.timestamps ? `${timestamp ?? new Date().toISOString()} ` : '';
    (stream === 'stderr' ? this.io.stderr : this.io.stdout).write(`${prefix}${stamp}${text}\n`);
  }

  /**
   * A line of compose's watch (its `#watch` logger): with prefixes, after ` ⦿ ` where a
   * prefix would be (as wide as `#watch`'s at least), in bright green when coloured.
   */
  watch(text: string): void {
    if (!this.options.prefix) {
      this.io.stdout.write(`${text}\n`);
      return;
    }
    const prefix = `${' '.repeat(Math.max(this.width, '#watch'.length + 1))} ⦿ `;
    this.io.stdout.write(`${this.options.color ? color('92', prefix) : prefix}${text}\n`);
  }

  status(name: string, message: string): void {
    const code = this.register(name);
    const text = `${name} ${message}`;
    this.io.stdout.write(`${code ? color(code, text) : text}\n`);
  }
}

/** The printer `logs` and an attached `up` use, as their `--no-color`, `--no-log-prefix` and `--timestamps` say. */
export function logPrinter(args: ParsedArgs, io: Io, ansi: AnsiMode): LogPrinter {
  return new LogPrinter(io, { color: !bool(args, 'no-color') && ansiEnabled(ansi, io.stdout, io.env), prefix: !bool(args, 'no-log-prefix'), timestamps: bool(args, 'timestamps') });
}

/** A container's name as compose's log prefixes show it: without the project's `<project>-`. */
export function shortName(project: string, container: string): string {
  return container.startsWith(`${project}-`) ? container.slice(project.length + 1) : container;
}

/**
 * A warning as compose's logrus prints it on stderr: `WARN[0000] …` on a terminal (level in
 * yellow), else logrus' text format `time="…" level=warning msg="…"`.
 */
export function warn(io: Pick<Io, 'stderr'>, message: string, started: number): void {
  const stderr = io.stderr as Out;
  if (stderr.isTTY) {
    const seconds = String(Math.floor((Date.now() - started) / 1000)).padStart(4, '0');
    stderr.write(`${color('33', 'WARN')}[${seconds}] ${message}\n`);
    return;
  }
  const time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  stderr.write(`time=${JSON.stringify(time)} level=warning msg=${JSON.stringify(message)}\n`);
}
