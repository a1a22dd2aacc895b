/**
 * A committed image's sizes before it first runs, as dockerd's classic store shows them:
 * the committed layer counts the bytes of its files (moby measures the layer it registers),
 * not its compressed blob, recorded as the commit writes it, without unpacking it.
 */
import { testEngine, type TestEngine } from './fixture';

const WRITTEN = 700 * 1024;

let t: TestEngine;
let busyboxSize: number;

beforeAll(async () => {
  t = await testEngine();
  busyboxSize = (await t.engine.inspectImage('busybox')).Size;
  const { id } = await t.engine.run({ image: 'busybox', name: 'w2', network: 'none', pull: 'never', cmd: ['sh', '-c', 'dd if=/dev/zero of=/big2 bs=1k count=700'] });
  await t.engine.commit(id, { reference: 'img3' });
});

afterAll(async () => {
  await t?.cleanup();
});

test("the committed layer's history size is its files' bytes, not its gzip blob's", async () => {
  expect((await t.engine.history('img3'))[0]?.Size).toBe(WRITTEN);
});

test("the image's size is its base's and the committed files' before it ever ran", async () => {
  expect((await t.engine.inspectImage('img3')).Size).toBe(busyboxSize + WRITTEN);
  expect((await t.engine.images({ filters: { reference: ['img3'] } }))[0]?.Size).toBe(busyboxSize + WRITTEN);
});

test('the size stays the same once the image has run and its layer is unpacked', async () => {
  await t.engine.run({ image: 'img3', network: 'none', pull: 'never', autoRemove: true, cmd: ['true'] });
  expect((await t.engine.inspectImage('img3')).Size).toBe(busyboxSize + WRITTEN);
  expect((await t.engine.history('img3'))[0]?.Size).toBe(WRITTEN);
});
