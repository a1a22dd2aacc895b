import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
}, 60_000);
afterAll(async () => {
  await t.cleanup();
});

/** A container that ran `script` (with sh) to its end, successfully. */
async function ran(script: string): Promise<string> {
  const { id, exitCode } = await t.engine.run({ image: 'busybox', cmd: ['sh', '-c', script], network: 'none', pull: 'never' });
  expect(exitCode).toBe(0);
  return id;
}

async function listed(id: string, options: { size?: boolean } = { size: true }): Promise<Record<string, unknown>> {
  const found = (await t.engine.ps({ all: true, ...options })).find((c) => c.Id === id);
  if (!found) throw new Error(`container ${id} is not listed`);
  return found as unknown as Record<string, unknown>;
}

const busyboxSize = async (): Promise<number> => (await t.engine.images()).find((i) => i.RepoTags.includes('busybox:latest'))?.Size ?? NaN;

test('the list has no sizes unless asked for them', async () => {
  const id = await ran('true');
  const summary = await listed(id, {});
  expect(summary).not.toHaveProperty('SizeRw');
  expect(summary).not.toHaveProperty('SizeRootFs');
});

test("SizeRw counts the bytes a container wrote as dockerd does: a hard-linked file once, a symlink at its target's length, directories not at all", async () => {
  const id = await ran('printf 123456789012 > /a && ln /a /b && ln -s /a /c && mkdir -p /d/e');
  expect((await listed(id)).SizeRw).toBe(12 + '/a'.length);
});

test('a file of the image that the container removed adds nothing (its whiteout has no size)', async () => {
  const id = await ran('rm /bin/true');
  expect((await listed(id)).SizeRw).toBe(0);
});

test("SizeRootFs is the writable layer and the image's size as `images` shows it", async () => {
  const id = await ran('printf 1234 > /four');
  expect(await listed(id)).toMatchObject({ SizeRw: 4, SizeRootFs: 4 + (await busyboxSize()) });
});

test('a running container is measured as it is now, and a stopped one keeps its size', async () => {
  const { id } = await t.engine.run({ image: 'busybox', cmd: ['sh', '-c', 'printf 12345678 > /eight; exec sleep 100'], network: 'none', pull: 'never', detach: true });
  for (let i = 0; i < 100 && (await listed(id)).SizeRw !== 8; i++) await new Promise((r) => setTimeout(r, 50));
  expect((await listed(id)).SizeRw).toBe(8);
  await t.engine.stop(id, { timeout: 0 });
  expect((await listed(id)).SizeRw).toBe(8);
});

test('inspect adds SizeRw and SizeRootFs only when asked', async () => {
  const id = await ran('printf 123 > /three');
  const plain = await t.engine.inspect(id);
  expect(plain).not.toHaveProperty('SizeRw');
  expect(await t.engine.inspect(id, { size: true })).toMatchObject({ SizeRw: 3, SizeRootFs: 3 + (await busyboxSize()) });
});

test('system df counts the containers as the sized list does', async () => {
  const id = await ran('printf 1234567 > /seven');
  const usage = (await t.engine.df()).Containers.find((c) => c.Id === id);
  expect(usage).toMatchObject({ SizeRw: 7, SizeRootFs: 7 + (await busyboxSize()) });
});

test('a cancelled measurement stops with Aborted', async () => {
  await ran('true');
  await expect(t.engine.ps({ all: true, size: true, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'Aborted' });
});
