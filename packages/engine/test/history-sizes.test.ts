/**
 * `docker history`'s SIZE as docker 28's classic store shows it: each layer's files, counted
 * as the image's size counts them (what its unpacked snapshot holds), not its compressed
 * blob — and an empty layer (`RUN true`) is 0, unpacked or not.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let context: string;

beforeAll(async () => {
  t = await testEngine();
  context = await mkdtemp(join(tmpdir(), 'ctr-engine-history-sizes-'));
  // The second RUN unpacks the first's layer to run on; the last layer is never unpacked.
  await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nRUN head -c 100000 /dev/zero > /zeros\nRUN true\nENV A=1\n');
  await t.engine.build({ context, tags: ['sized-history:1'] });
});

afterAll(async () => {
  await t?.cleanup();
  if (context) await rm(context, { recursive: true, force: true });
});

async function sizes(): Promise<Array<[string, number]>> {
  return (await t.engine.history('sized-history:1')).map((row) => [row.CreatedBy, row.Size]);
}

test('an empty layer (RUN true) is 0 bytes, though it was never unpacked', async () => {
  expect((await sizes())[1]).toEqual(['/bin/sh -c true', 0]);
});

test("an unpacked layer is its files' bytes, not its compressed blob's", async () => {
  expect((await sizes())[2]).toEqual(['/bin/sh -c head -c 100000 /dev/zero > /zeros', 100_000]);
});

test('a step that made no layer is 0 bytes', async () => {
  expect((await sizes())[0]).toEqual(['/bin/sh -c #(nop)  ENV A=1', 0]);
});

test("the base image's layer is the base image's size", async () => {
  expect((await sizes())[3]?.[1]).toBe((await t.engine.inspectImage('busybox')).Size);
});

test("the history's sizes add up to the image's size", async () => {
  const total = (await sizes()).reduce((sum, [, size]) => sum + size, 0);
  expect(total).toBe((await t.engine.inspectImage('sized-history:1')).Size);
});
