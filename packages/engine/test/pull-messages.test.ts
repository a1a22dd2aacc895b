import type { PullMessage } from '@ctr/dockerfile';
import { PullMessages } from '../src/pull-messages';

/** The messages a pull of `ref` tells, from its first layer event to its end. */
function told(ref: string): PullMessage[] {
  const messages: PullMessage[] = [];
  const pull = new PullMessages(ref, (message) => messages.push(message));
  pull.progress({ kind: 'layer', id: 'aaaaaaaaaaaa', status: 'Pull complete' });
  pull.pulled({ record: { id: 'sha256:image', target: { digest: 'sha256:manifest' } } }, undefined);
  return messages;
}

const DIGEST = `sha256:${'d'.repeat(64)}`;

test('Pulling from stands under the tag pulled, and the path of the repository', () => {
  expect(told('busybox')[0]).toEqual({ status: 'Pulling from library/busybox', id: 'latest' });
});

test("Pulling from stands under the digest of a name:tag@digest, as moby's pull prefers the digest", () => {
  expect(told(`busybox:1@${DIGEST}`)[0]).toEqual({ status: 'Pulling from library/busybox', id: DIGEST });
});

test('Pulling from is said once, before the layers, and the pull ends with its digest and outcome', () => {
  expect(told('localhost:5000/app:1').map((m) => m.status)).toEqual([
    'Pulling from app',
    'Pull complete',
    'Digest: sha256:manifest',
    'Status: Downloaded newer image for localhost:5000/app:1',
  ]);
});
