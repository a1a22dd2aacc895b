/**
 * Docker's init layer gives every container an empty `/.dockerenv` (mode 0755): scripts test
 * for it to tell they run in a container. Being init layer, it is in no `diff`, commit or
 * build step layer (real runc, overlayfs).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMPTY_LAYER_DIFF_ID } from '@ctr/image';
import { collector, testEngine, type TestEngine } from './fixture';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t?.cleanup();
});

/** Runs `script` in a busybox container to its end; gives the container's ID and output. */
async function ran(script: string): Promise<{ id: string; output: string }> {
  const stdout = collector();
  const { id, exitCode } = await t.engine.run({ image: 'busybox', pull: 'never', network: 'none', cmd: ['sh', '-c', script], stdout });
  expect(exitCode).toBe(0);
  return { id, output: stdout.text() };
}

test('a container has an empty /.dockerenv of mode 0755 owned by root', async () => {
  const { id, output } = await ran('stat -c "%s %a %u:%g %F" /.dockerenv');
  await t.engine.remove(id);
  expect(output).toBe('0 755 0:0 regular empty file\n');
});

test('/.dockerenv is not in the diff of a container', async () => {
  const { id } = await ran('echo x > /made');
  expect(await t.engine.changes(id)).toEqual([{ Path: '/made', Kind: 1 }]);
  await t.engine.remove(id);
});

test('/.dockerenv the container wrote to is in its diff', async () => {
  const { id } = await ran('echo x > /.dockerenv');
  expect((await t.engine.changes(id)).map((change) => change.Path)).toEqual(['/.dockerenv']);
  await t.engine.remove(id);
});

test('a commit of a container that changed nothing adds an empty layer, without /.dockerenv', async () => {
  const { id } = await ran('true');
  const image = await t.engine.commit(id);
  await t.engine.remove(id);
  expect((await t.engine.inspectImage(image.id)).RootFS.Layers.at(-1)).toBe(EMPTY_LAYER_DIFF_ID);
  await t.engine.removeImage(image.id);
});

test('a build RUN step that sees /.dockerenv and changes nothing adds no layer: the file is no change', async () => {
  const context = await mkdtemp(join(tmpdir(), 'ctr-dockerenv-build-'));
  try {
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nRUN test -f /.dockerenv\n');
    const { id } = await t.engine.build({ context, noCache: true });
    expect((await t.engine.inspectImage(id)).RootFS.Layers).toEqual((await t.engine.inspectImage('busybox')).RootFS.Layers);
    await t.engine.removeImage(id);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
});
