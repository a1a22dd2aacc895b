/**
 * A remote build's messages back into the engine's events: pull messages (a daemon's
 * `{"status": …}` lines of a base's pull, between its `{"stream": …}` lines) become pull
 * events, under the step they came in, so `ctr -H … build --pull` prints them as the
 * in-process build does; the same for a step's stderr.
 */
import type { BuildEvent } from '@ctr/dockerfile';
import { buildEvents } from '../src/build-progress';

test("a daemon's pull messages are pull events of the step they came under, a layer's with its bytes", () => {
  const events: BuildEvent[] = [];
  const take = buildEvents((event) => events.push(event));
  take({ stream: 'Step 1/2 : FROM 127.0.0.1:5000/base:1\n' });
  take({ status: 'Pulling from base', id: '1' });
  take({ status: 'Downloading', progressDetail: { current: 10, total: 100 }, id: '0123456789ab' });
  take({ status: 'Status: Image is up to date for 127.0.0.1:5000/base:1' });
  expect(events.slice(1)).toEqual([
    { type: 'pull', step: 1, status: 'Pulling from base', id: '1' },
    { type: 'pull', step: 1, status: 'Downloading', id: '0123456789ab', progress: { current: 10, total: 100 } },
    { type: 'pull', step: 1, status: 'Status: Image is up to date for 127.0.0.1:5000/base:1' },
  ]);
});

test("a daemon's red stream is the step's stderr, so ctr -H prints it as the in-process build does", () => {
  const events: BuildEvent[] = [];
  const take = buildEvents((event) => events.push(event));
  take({ stream: 'Step 2/2 : RUN echo err >&2\n' });
  take({ stream: '\x1b[91merr\n\x1b[0m' });
  expect(events[1]).toEqual({ type: 'output', step: 2, stream: 'stderr', data: Buffer.from('err\n') });
});
