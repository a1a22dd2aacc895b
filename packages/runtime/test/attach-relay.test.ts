import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { prepareAttach } from '../src/attach';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ctr-attach-relay-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('a relay waiting for an attach socket that never comes fails the connect once its time is up', async () => {
  const pending = prepareAttach(dir, { stdout: new PassThrough() }, true);
  await expect(pending.connect(200)).rejects.toMatchObject({
    code: 'Internal',
    message: "cannot attach to the container: conmon's attach socket did not appear within 200 ms",
  });
});

test('without waiting, a missing attach socket is a Conflict at once', async () => {
  const pending = prepareAttach(dir, { stdout: new PassThrough() });
  await expect(pending.connect()).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining('cannot attach to the container: connect:') });
});

test('without perl the connect fails as Unavailable, saying perl is needed, not that the socket is gone', async () => {
  const path = process.env.PATH;
  process.env.PATH = join(dir, 'no-programs-here');
  try {
    const pending = prepareAttach(dir, { stdout: new PassThrough() }, true);
    // As in a start, the connect comes later (conmon is started in between): by then the failed spawn has ended.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(pending.connect(2000)).rejects.toMatchObject({
      code: 'Unavailable',
      message: expect.stringContaining("cannot attach: perl is needed to reach conmon's attach socket"),
    });
  } finally {
    process.env.PATH = path;
  }
});
