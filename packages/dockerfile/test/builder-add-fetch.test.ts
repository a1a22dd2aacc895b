/**
 * `ADD <url>` GETs through the backend's `fetch` when it has one (the engine's trusts extra
 * CAs); these fakes answer without any connection. Without one, node:http's GET is used
 * (builder-add-url-default.test.ts and builder-copy.test.ts download from servers on 127.0.0.1 that way).
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build, type UrlFetch } from '@ctr/dockerfile';
import { CtrError } from '@ctr/errors';
import { mountAll, unmount } from '@ctr/store';
import { DirBackend, makeContext } from './helpers/dir-backend';

const URL_TO_ADD = 'https://127.0.0.1:9/files/f.txt';

let backend: DirBackend;
let context: string;

beforeEach(async () => {
  backend = await DirBackend.create();
  context = await makeContext({ Dockerfile: `FROM scratch\nADD ${URL_TO_ADD} /f\n` });
});

afterEach(async () => {
  await backend.dispose();
  await fs.rm(context, { recursive: true, force: true });
});

function withFetch(fetch: UrlFetch): DirBackend & { fetch: UrlFetch } {
  return Object.assign(backend, { fetch });
}

test("ADD <url> GETs through the backend's fetch, following redirects, and adds what it answered", async () => {
  const asked: { url: string; redirect: string }[] = [];
  const fetch: UrlFetch = async (url, init) => {
    asked.push({ url, redirect: init.redirect });
    return new Response('from the backend\n');
  };
  const { id } = await build({ backend: withFetch(fetch), context });
  expect(asked).toEqual([{ url: URL_TO_ADD, redirect: 'follow' }]);
  expect(await fs.readFile(path.join(backend.image(id).state.dir, 'f'), 'utf8')).toBe('from the backend\n');
});

test("a CtrError from the backend's fetch keeps its code and hint, and its message names the URL", async () => {
  const fetch: UrlFetch = async () => {
    throw new CtrError('Unavailable', 'unable to verify the first certificate', { hint: 'set THE_VARIABLE' });
  };
  await expect(build({ backend: withFetch(fetch), context })).rejects.toMatchObject({
    code: 'Unavailable',
    message: `failed to fetch ${URL_TO_ADD}: unable to verify the first certificate`,
    hint: 'set THE_VARIABLE',
  });
  expect(backend.committed.size).toBe(0);
});

test("any other failure of the backend's fetch is Unavailable with fetch's reason (its cause), not \"fetch failed\"", async () => {
  const fetch: UrlFetch = async () => {
    throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') });
  };
  await expect(build({ backend: withFetch(fetch), context })).rejects.toMatchObject({
    code: 'Unavailable',
    message: `failed to fetch ${URL_TO_ADD}: connect ECONNREFUSED 127.0.0.1:9`,
  });
  expect(backend.committed.size).toBe(0);
});

test('a build cancelled while a URL is being fetched fails Aborted, through the signal the fetch was given', async () => {
  const controller = new AbortController();
  const fetch: UrlFetch = (_url, init) =>
    new Promise((_resolve, reject) => {
      init.signal.addEventListener('abort', () => reject(init.signal.reason));
      controller.abort();
    });
  await expect(build({ backend: withFetch(fetch), context, signal: controller.signal })).rejects.toMatchObject({ code: 'Aborted' });
  expect(backend.committed.size).toBe(0);
});

/** A response whose body sends `first`, then fails with `error`, or on `signal`'s abort. */
function bodyThatBreaks(first: string, error: Error | undefined, signal: AbortSignal): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(first));
      if (error) controller.error(error);
      else signal.addEventListener('abort', () => controller.error(signal.reason));
    },
  });
  return new Response(body, { status: 200 });
}

test('a body that breaks off is Unavailable with the reason, and nothing is committed', async () => {
  const fetch: UrlFetch = async (_url, init) => bodyThatBreaks('part of it', new Error('other side closed'), init.signal);
  await expect(build({ backend: withFetch(fetch), context })).rejects.toMatchObject({
    code: 'Unavailable',
    message: `failed to fetch ${URL_TO_ADD}: other side closed`,
  });
  expect(backend.committed.size).toBe(0);
});

test('a build cancelled while the body is arriving fails Aborted', async () => {
  const controller = new AbortController();
  const fetch: UrlFetch = async (_url, init) => {
    setImmediate(() => controller.abort());
    return bodyThatBreaks('part of it', undefined, init.signal);
  };
  await expect(build({ backend: withFetch(fetch), context, signal: controller.signal })).rejects.toMatchObject({ code: 'Aborted' });
  expect(backend.committed.size).toBe(0);
});

test('a download that does not fit on the disk is ResourceExhausted saying what it wrote, not the server\'s fault', async () => {
  const small = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-add-full-'));
  await mountAll([{ type: 'tmpfs', source: 'tmpfs', options: ['size=64k'] }], small);
  try {
    const fetch: UrlFetch = async () => new Response(new Uint8Array(1024 * 1024), { status: 200 });
    await expect(build({ backend: withFetch(fetch), context, scratchDir: small })).rejects.toMatchObject({
      code: 'ResourceExhausted',
      message: expect.stringMatching(new RegExp(`^writing the download of ${URL_TO_ADD}: .*no space left on device.*: free disk space .* and retry$`)),
    });
    expect(backend.committed.size).toBe(0);
    expect(await fs.readdir(small)).toEqual([]);
  } finally {
    await unmount(small);
    await fs.rm(small, { recursive: true, force: true });
  }
});
