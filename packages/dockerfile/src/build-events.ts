import type { PullMessage } from './backend';

/** Progress of a build, in Docker's terms (`Step 2/5 : RUN make`, ` ---> Using cache`). */
export type BuildEvent =
  /** `stage` is -1 for an ARG before the first FROM (docker's classic builder counts those as steps too). */
  | { type: 'step'; step: number; total: number; stage: number; instruction: string; line: number }
  | { type: 'trigger'; count: number; stage: number }
  | { type: 'cache-hit'; step: number }
  | { type: 'container'; step: number; id: string }
  | { type: 'container-removed'; step: number; id: string }
  /** A step's result is this image: FROM's base (or its triggers' last), then each step's, as docker's classic builder commits one per step. */
  | { type: 'image'; step: number; id: string }
  | { type: 'output'; step: number; stream: 'stdout' | 'stderr'; data: Buffer }
  /** A step's image being pulled (FROM's base, `COPY --from`'s image): one message of the pull's. */
  | ({ type: 'pull'; step: number } & PullMessage)
  /** `parser`: the Dockerfile parser's (an empty continuation line), which docker words `[WARNING]: …` and writes to the build's stderr. */
  | { type: 'warning'; message: string; parser?: boolean }
  /** What a step says of itself before it runs (`Note: overriding previous HEALTHCHECK: [CMD true]`). */
  | { type: 'note'; step: number; message: string }
  | { type: 'stage-skipped'; stage: number; name?: string }
  | { type: 'done'; id: string };

/** Docker's classic text for an event (`docker build` without BuildKit). */
export function formatEvent(event: BuildEvent): string {
  switch (event.type) {
    case 'step':
      return `Step ${event.step}/${event.total} : ${event.instruction}\n`;
    case 'trigger':
      return `# Executing ${event.count} build trigger${event.count === 1 ? '' : 's'}\n`;
    case 'cache-hit':
      return ' ---> Using cache\n';
    case 'container':
      return ` ---> Running in ${event.id}\n`;
    case 'image':
      return ` ---> ${shortId(event.id)}\n`;
    case 'container-removed':
      // Today's dockerd's words; older ones printed `Removing intermediate container <id>`.
      return ` ---> Removed intermediate container ${event.id}\n`;
    case 'output':
      return event.data.toString('utf8');
    case 'pull':
      // docker's CLI without a terminal (jsonmessage): a line per status, none for a count of bytes.
      if (event.progress?.current || event.progress?.total) return '';
      return `${event.id !== undefined ? `${event.id}: ` : ''}${event.status}\n`;
    case 'warning':
      return event.parser ? `[WARNING]: ${event.message}\n` : `[Warning] ${event.message}\n`;
    case 'note':
      return `Note: ${event.message}\n`;
    case 'stage-skipped':
      return '';
    case 'done':
      return `Successfully built ${shortId(event.id)}\n`;
  }
}

/** What moby's streamformatter.NewStderrWriter wraps each write to a build's stderr in: red, then back. */
const STDERR_START = '\x1b[91m';
const STDERR_END = '\x1b[0m';

/** What dockerd's classic builder writes to the build's stderr: RUN's stderr, the parser's warnings. */
function onStderr(event: BuildEvent): boolean {
  return (event.type === 'output' && event.stream === 'stderr') || (event.type === 'warning' && event.parser === true);
}

/**
 * An event as dockerd's build route streams it (`{"stream": …}`) and docker's CLI prints it,
 * escapes and all, terminal or not: `formatEvent`'s text, what goes to the build's stderr in red.
 */
export function classicStreamText(event: BuildEvent): string {
  const text = formatEvent(event);
  return text !== '' && onStderr(event) ? `${STDERR_START}${text}${STDERR_END}` : text;
}

/** A streamed text that is a build's stderr (`classicStreamText`'s red), without the colour; undefined for any other. */
export function streamedStderr(text: string): string | undefined {
  return text.length > STDERR_START.length + STDERR_END.length && text.startsWith(STDERR_START) && text.endsWith(STDERR_END)
    ? text.slice(STDERR_START.length, -STDERR_END.length)
    : undefined;
}

/** An image ID as docker prints it: 12 hex characters. */
function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}
