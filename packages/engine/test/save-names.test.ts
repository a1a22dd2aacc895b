import { rm } from 'node:fs/promises';
import { Engine } from '@ctr/engine';
import { testEngine, type TestEngine } from './fixture';

/** `save` names the images of an archive as dockerd's tarexport does; what a load of it makes shows them. */
let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t?.cleanup();
});

/** What a load of the archive of `refs` into an empty root says it loaded. */
const loadedFrom = async (refs: string[]): Promise<string[]> => {
  const archive = await t.engine.save(refs);
  const loaded = new Engine({ root: `${t.root}-save-names`, runRoot: `${t.runRoot}-save-names` });
  try {
    const { loaded: lines } = await loaded.load(archive);
    return lines.sort();
  } finally {
    await loaded.close();
    await rm(`${t.root}-save-names`, { recursive: true, force: true });
    await rm(`${t.runRoot}-save-names`, { recursive: true, force: true });
  }
};

test('an image saved by its short ID has no name in the archive', async () => {
  const { Id } = await t.engine.inspectImage('busybox');
  expect(await loadedFrom([Id.slice('sha256:'.length, 'sha256:'.length + 12)])).toEqual([`Loaded image ID: ${Id}`]);
});

test('a repository saved without a tag brings every tag of it', async () => {
  await t.engine.tag('busybox', 'save-names:one');
  await t.engine.tag('busybox', 'save-names:two');
  expect(await loadedFrom(['save-names'])).toEqual(['Loaded image: save-names:one', 'Loaded image: save-names:two']);
});
