import { streamedStderr, type BuildEvent } from '@ctr/dockerfile';
import type { ProgressMessage } from './api-types';

const STEP = /^Step (\d+)\/(\d+) : (.*)\n$/s;
const DONE = /^Successfully built ([0-9a-f]+)\n$/;
const RUNNING = /^ ---> Running in ([0-9a-f]+)\n$/;
const REMOVED = /^ ---> Removed intermediate container ([0-9a-f]+)\n$/;
const IMAGE = /^ ---> ([0-9a-f]{12})\n$/;

/**
 * The classic builder's JSON stream (`{"stream": "Step 1/3 : FROM busybox\n"}`, a base's pull
 * as `{"status": "Pulling fs layer", …}`) back into the engine's build events, so what prints
 * them shows a remote build as a local one.
 * "Successfully tagged" lines are left to the caller, who prints them after an in-process
 * build too.
 */
export function buildEvents(onEvent: ((event: BuildEvent) => void) | undefined): (message: ProgressMessage) => void {
  let step = 0;
  return (message) => {
    const text = message.stream;
    if (!onEvent) return;
    // A base's pull (`--pull`, or a base not there): dockerd's pull messages, under the step that pulls.
    if (text === undefined && message.status !== undefined) {
      const progress = message.progressDetail;
      onEvent({ type: 'pull', step, status: message.status, ...(message.id !== undefined ? { id: message.id } : {}), ...(progress ? { progress } : {}) });
      return;
    }
    if (!text || text.startsWith('Successfully tagged ')) return;
    const stepMatch = STEP.exec(text);
    const done = DONE.exec(text);
    const running = RUNNING.exec(text);
    const removed = REMOVED.exec(text);
    const image = IMAGE.exec(text);
    if (stepMatch) {
      step = Number(stepMatch[1]);
      onEvent({ type: 'step', step, total: Number(stepMatch[2]), stage: 0, instruction: stepMatch[3] as string, line: 0 });
    } else if (text === ' ---> Using cache\n') onEvent({ type: 'cache-hit', step });
    else if (done) onEvent({ type: 'done', id: `sha256:${done[1]}` });
    else if (running) onEvent({ type: 'container', step, id: running[1] as string });
    else if (removed) onEvent({ type: 'container-removed', step, id: removed[1] as string });
    else if (image) onEvent({ type: 'image', step, id: image[1] as string });
    else {
      // The build's stderr comes in red: its text is given as stderr, which is printed red again.
      const stderr = streamedStderr(text);
      onEvent({ type: 'output', step, stream: stderr === undefined ? 'stdout' : 'stderr', data: Buffer.from(stderr ?? text) });
    }
  };
}
