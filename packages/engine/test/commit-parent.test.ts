/**
 * `docker commit` records the container's image as the new image's parent (moby's CommitImage
 * calls SetParent): inspect's `Parent` names it, history walks to it, and rmi of the base's
 * last name only untags it while the committed child depends on it.
 */
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
/** An image named only `base:1`, its child `child:1` committed from a container of it. */
let base: string;
let child: string;

beforeAll(async () => {
  t = await testEngine();
  const first = await t.engine.run({ image: 'busybox', network: 'none', pull: 'never', cmd: ['sh', '-c', 'echo base > /base'] });
  base = (await t.engine.commit(first.id, { reference: 'base:1' })).id;
  const second = await t.engine.run({ image: 'base:1', network: 'none', pull: 'never', cmd: ['sh', '-c', 'echo child > /child'] });
  child = (await t.engine.commit(second.id, { reference: 'child:1' })).id;
  // A container of the base would refuse the untag (moby's stopped-container conflict): only the child holds it.
  await t.engine.remove(first.id);
  await t.engine.remove(second.id);
});

afterAll(async () => {
  await t?.cleanup();
});

test("a committed image's Parent is the container's image, and history walks to it", async () => {
  expect((await t.engine.inspectImage(child)).Parent).toBe(base);
  expect((await t.engine.history(child)).map((row) => row.Id).slice(0, 2)).toEqual([child, base]);
});

test("rmi of the base's last name only untags it while a committed child depends on it", async () => {
  expect(await t.engine.removeImage('base:1')).toEqual([{ Untagged: 'base:1' }]);
  expect((await t.engine.inspectImage(base)).Id).toBe(base);
});
