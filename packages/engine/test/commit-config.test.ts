import { testEngine, type TestEngine } from './fixture';

/** `docker commit`'s config and history, as moby's commit makes them. */
let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t?.cleanup();
});

test("a commit's history entry is created by the container's command", async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', cmd: ['sh', '-c', 'exit 5'] });
  const image = await t.engine.commit(id, { reference: 'commit-config:history' });
  const [top] = await t.engine.history(image.id);
  expect(top?.CreatedBy).toBe('sh -c exit 5');
  await t.engine.remove(id);
});

test('a commit changing the ENTRYPOINT leaves no CMD, neither the container\'s nor the image\'s', async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none' });
  const image = await t.engine.commit(id, { reference: 'commit-config:entrypoint', changes: ['ENTRYPOINT ["echo"]'] });
  const { Config } = await t.engine.inspectImage(image.id);
  expect(Config.Entrypoint).toEqual(['echo']);
  expect(Config.Cmd ?? null).toBeNull();
  await t.engine.remove(id);
});

test('a commit without changes keeps the command the container ran', async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', cmd: ['echo', 'kept'] });
  const image = await t.engine.commit(id, { reference: 'commit-config:cmd' });
  expect((await t.engine.inspectImage(image.id)).Config.Cmd).toEqual(['echo', 'kept']);
  await t.engine.remove(id);
});
