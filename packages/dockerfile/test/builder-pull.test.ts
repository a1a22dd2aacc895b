/**
 * The builder's `pull` (docker's `build --pull`): which images it asks the backend to pull from
 * their registry even when here (every image a stage starts from or a step copies from, once a
 * build; never `scratch`, an earlier stage or a named context's directory), and how a pull's
 * messages become build events and docker's lines.
 */
import { promises as fs } from 'node:fs';
import { build, formatEvent, type BaseImage, type BuildEvent, type PullMessage, type PullPolicy } from '@ctr/dockerfile';
import { busybox, DirBackend, makeContext, type DirState } from './helpers/dir-backend';

/** A DirBackend that records each image it is asked for, with the pull policy, and tells each a pull's messages. */
class PullingBackend extends DirBackend {
  readonly asked: [string, PullPolicy | undefined][] = [];

  override async resolveImage(ref: string, options?: { pull?: PullPolicy; onProgress?: (message: PullMessage) => void }): Promise<BaseImage<DirState>> {
    this.asked.push([ref, options?.pull]);
    options?.onProgress?.({ status: 'Pulling from library/x', id: 'latest' });
    return super.resolveImage(ref);
  }
}

let backend: PullingBackend;
let context: string;
let extra: string;

beforeEach(async () => {
  backend = new PullingBackend((await DirBackend.create()).root, { busybox, 'alpine:3': { files: { 'etc/alpine-release': '3.20\n' } } });
  context = await makeContext({ 'src.txt': 'source\n' });
  extra = await makeContext({ 'lib.txt': 'lib\n' });
});
afterEach(async () => {
  await backend.dispose();
  await fs.rm(context, { recursive: true, force: true });
  await fs.rm(extra, { recursive: true, force: true });
});

const stages = `FROM busybox AS base
RUN echo base > /base.txt
FROM scratch AS empty
COPY src.txt /
FROM base
COPY --from=empty /src.txt /
COPY --from=alpine:3 /etc/alpine-release /
COPY --from=busybox /etc/group /
`;

test('with pull, each image built on or copied from is pulled, once; scratch and stages are not', async () => {
  await build({ backend, context, dockerfileContent: stages, pull: true });
  expect(backend.asked).toEqual([
    ['busybox', 'always'],
    ['alpine:3', 'always'],
  ]);
});

test('without pull, an image is pulled only when missing', async () => {
  await build({ backend, context, dockerfileContent: stages });
  expect(backend.asked).toEqual([
    ['busybox', 'missing'],
    ['alpine:3', 'missing'],
  ]);
});

test("with pull, a named context's directory is not pulled; a named context's image is", async () => {
  await build({
    backend,
    context,
    dockerfileContent: 'FROM busybox\nCOPY --from=tools /etc/alpine-release /\n',
    pull: true,
    buildContexts: { busybox: { type: 'local', path: extra }, tools: { type: 'image', ref: 'alpine:3' } },
  });
  expect(backend.asked).toEqual([['alpine:3', 'always']]);
});

test("a pull's messages are events of the step that names the image", async () => {
  const events: BuildEvent[] = [];
  await build({ backend, context, dockerfileContent: 'FROM busybox\nCOPY --from=alpine:3 /etc/alpine-release /\n', pull: true, onEvent: (event) => events.push(event) });
  expect(events.filter((event) => event.type === 'pull')).toEqual([
    { type: 'pull', step: 1, status: 'Pulling from library/x', id: 'latest' },
    { type: 'pull', step: 2, status: 'Pulling from library/x', id: 'latest' },
  ]);
});

test("a pull's messages print as docker's CLI prints them without a terminal: a line per status, none for a count of bytes", () => {
  const line = (message: PullMessage): string => formatEvent({ type: 'pull', step: 1, ...message });
  expect(line({ status: 'Pulling from library/busybox', id: 'latest' })).toBe('latest: Pulling from library/busybox\n');
  expect(line({ status: 'Pulling fs layer', id: '0123456789ab', progress: {} })).toBe('0123456789ab: Pulling fs layer\n');
  expect(line({ status: 'Downloading', id: '0123456789ab', progress: { current: 10, total: 100 } })).toBe('');
  expect(line({ status: 'Status: Downloaded newer image for busybox:latest' })).toBe('Status: Downloaded newer image for busybox:latest\n');
});
