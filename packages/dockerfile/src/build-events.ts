import type { PullMessage } from './backend';

/** Progress of a build, in Docker's terms (`Step 2/5 : RUN make`, ` ---> Using cache`). */
export type BuildEvent =
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
  | { type: 'warning'; message: string }
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
      return `[Warning] ${event.message}\n`;
    case 'stage-skipped':
      return '';
    case 'done':
      return `Successfully built ${shortId(event.id)}\n`;
  }
}

/** An image ID as docker prints it: 12 hex characters. */
function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}
