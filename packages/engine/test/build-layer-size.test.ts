/**
 * A built image's sizes before it first runs, as dockerd's classic store shows them: a RUN
 * step's layer counts the bytes of its files (its uncompressed DiffSize), not its gzip blob,
 * recorded as the build writes it, the same as once the image has run.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEngine, type TestEngine } from './fixture';

const WRITTEN = 2000 * 1024;

let t: TestEngine;
let context: string;
let busyboxSize: number;

beforeAll(async () => {
  t = await testEngine();
  busyboxSize = (await t.engine.inspectImage('busybox')).Size;
  context = await mkdtemp(join(tmpdir(), 'ctr-build-layer-size-'));
  await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nRUN dd if=/dev/zero of=/c bs=1k count=2000\n');
  await t.engine.build({ context, network: 'none', tags: ['sz:1'] });
});

afterAll(async () => {
  await rm(context, { recursive: true, force: true });
  await t?.cleanup();
});

test("a built image's size and its RUN row's are the files' bytes before it ever ran, as after", async () => {
  const before = { size: (await t.engine.inspectImage('sz:1')).Size, row: (await t.engine.history('sz:1'))[0]?.Size };
  expect(before).toEqual({ size: busyboxSize + WRITTEN, row: WRITTEN });
  await t.engine.run({ image: 'sz:1', network: 'none', pull: 'never', autoRemove: true, cmd: ['true'] });
  expect({ size: (await t.engine.inspectImage('sz:1')).Size, row: (await t.engine.history('sz:1'))[0]?.Size }).toEqual(before);
});
