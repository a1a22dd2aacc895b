import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEvent } from '@ctr/dockerfile';
import { collector, testEngine, type TestEngine } from './fixture';

describe('engine.build --squash and --cache-from (real snapshots and runc)', () => {
  let t: TestEngine;
  let context: string;
  beforeAll(async () => {
    t = await testEngine();
    context = await mkdtemp(join(tmpdir(), 'ctr-build-squash-'));
  });
  afterAll(async () => {
    await rm(context, { recursive: true, force: true });
    await t?.cleanup();
  });

  async function shell(image: string, script: string): Promise<string> {
    const stdout = collector();
    await t.engine.run({ image, cmd: ['sh', '-c', script], network: 'none', autoRemove: true, stdout });
    return stdout.text();
  }

  describe('--squash', () => {
    const dockerfile = 'FROM busybox\nRUN echo one > /one && echo gone > /gone\nRUN rm /gone /bin/vi && echo two > /two\nENV STEP=3\n';
    let squashed: Awaited<ReturnType<TestEngine['engine']['build']>>;
    let plain: Awaited<ReturnType<TestEngine['engine']['build']>>;
    beforeAll(async () => {
      await writeFile(join(context, 'Dockerfile'), dockerfile);
      plain = await t.engine.build({ context });
      squashed = await t.engine.build({ context, squash: true });
    });

    test("the build's layers become one on top of the base image's", async () => {
      const base = await t.engine.inspectImage('busybox');
      const image = await t.engine.inspectImage(squashed.id);
      expect(image.RootFS.Layers).toEqual([...base.RootFS.Layers, expect.any(String)]);
      expect((await t.engine.inspectImage(plain.id)).RootFS.Layers).toHaveLength(base.RootFS.Layers.length + 2);
    });

    test('the one layer holds what the steps did together: files added, files of the base and of earlier steps removed', async () => {
      expect(await shell('busybox', 'ls /bin/vi')).toBe('/bin/vi\n');
      expect(await shell(squashed.id, 'cat /one /two; ls /gone /bin/vi 2>&1 | wc -l; echo $STEP')).toBe('one\ntwo\n2\n3\n');
    });

    test("history as docker's squash leaves it: the build's entries empty, one entry more naming both images", async () => {
      const history = await t.engine.history(squashed.id);
      const base = await t.engine.history('busybox');
      expect(history).toHaveLength(base.length + 4);
      expect(history[0]!.Comment).toBe(`merge ${plain.id} to ${(await t.engine.inspectImage('busybox')).Id}`);
      expect(history.slice(1, 4).map((h) => h.Size)).toEqual([0, 0, 0]);
    });

    test('the unsquashed image is kept, as docker keeps it', async () => {
      expect((await t.engine.inspectImage(plain.id)).Id).toBe(plain.id);
    });
  });

  describe('--cache-from', () => {
    test("an image here whose history matches gives the steps, though this machine's build cache has none", async () => {
      await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nRUN echo cached-from > /x\nRUN date +%N > /made\n');
      const first = await t.engine.build({ context, tags: ['cache/source'] });
      await t.engine.pruneBuildCache({ all: true });
      let output = '';
      const again = await t.engine.build({ context, cacheFrom: ['cache/source'], onEvent: (e) => (output += formatEvent(e)) });
      expect(again.id).toBe(first.id);
      expect(output.match(/ ---> Using cache\n/g)).toHaveLength(2);
      expect(output).not.toContain('Running in');
    });

    test('steps after the first that differs are built', async () => {
      await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nRUN echo cached-from > /x\nRUN echo other > /y\n');
      await t.engine.pruneBuildCache({ all: true });
      let output = '';
      const built = await t.engine.build({ context, cacheFrom: ['cache/source'], onEvent: (e) => (output += formatEvent(e)) });
      expect(output.match(/ ---> Using cache\n/g)).toHaveLength(1);
      expect(output.match(/ ---> Running in /g)).toHaveLength(1);
      expect(await shell(built.id, 'cat /x /y')).toBe('cached-from\nother\n');
    });

    test('a RUN with a bind mount is built again, not taken from the image: what the mount brought is in no history', async () => {
      await writeFile(join(context, 'input.txt'), 'first\n');
      await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nRUN --mount=type=bind,source=input.txt,target=/in cp /in /copied\n');
      await t.engine.build({ context, tags: ['cache/mounted'] });
      await t.engine.pruneBuildCache({ all: true });
      await writeFile(join(context, 'input.txt'), 'second\n');
      const built = await t.engine.build({ context, cacheFrom: ['cache/mounted'] });
      expect(await shell(built.id, 'cat /copied')).toBe('second\n');
    });

    test('an image that is not here is skipped with a warning, not pulled', async () => {
      await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nLABEL a=b\n');
      const result = await t.engine.build({ context, cacheFrom: ['registry.invalid/nothing:here'] });
      expect(result.warnings).toContain('cache-from image registry.invalid/nothing:here is not here: not used as a cache source');
    });
  });

  test('--isolation: only default, in docker\'s words', async () => {
    await expect(t.engine.build({ context, isolation: 'hyperv' })).rejects.toMatchObject({ code: 'InvalidArgument', message: 'unsupported isolation: "hyperv"' });
  });
});
