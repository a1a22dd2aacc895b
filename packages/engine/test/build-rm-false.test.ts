import { Readable } from 'node:stream';
import { formatEvent } from '@ctr/dockerfile';
import type { BuildImageOptions } from '@ctr/engine';
import { testEngine, type TestEngine } from './fixture';

// docker build --rm=false (classic builder): every container a step made stays, as an ordinary container.

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t?.cleanup();
});
afterEach(async () => {
  for (const c of await t.engine.ps({ all: true })) await t.engine.remove(c.Id, { force: true });
});

async function build(dockerfile: string, options: Partial<BuildImageOptions> = {}): Promise<string> {
  let output = '';
  await t.engine.build({ context: Readable.from([dockerfile]), noCache: true, onEvent: (e) => (output += formatEvent(e)), ...options });
  return output;
}

async function logLines(id: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const entry of t.engine.logs(id)) lines.push(entry.line);
  return lines;
}

test("a metadata step's container stays, Created, of the image the step began from, with the step's #(nop) command", async () => {
  const output = await build('FROM busybox\nENV A=1\n', { network: 'none', remove: false });
  const [kept, ...others] = await t.engine.ps({ all: true });
  expect(others).toEqual([]);
  expect(kept!.State).toBe('created');
  expect(kept!.ImageID).toBe((await t.engine.inspectImage('busybox')).Id);
  expect((await t.engine.inspect(kept!.Id)).Config.Cmd).toEqual(['/bin/sh', '-c', '#(nop) ', 'ENV A=1']);
  expect(output).toContain(`Step 2/2 : ENV A=1\n ---> Running in ${kept!.Id.slice(0, 12)}\n ---> `);
});

test('with --rm (the default) and with --force-rm no metadata step leaves a container', async () => {
  await build('FROM busybox\nENV A=1\nLABEL x=y\n', { network: 'none' });
  await build('FROM busybox\nENV A=1\nLABEL x=y\n', { network: 'none', remove: false, forceRemove: true });
  expect(await t.engine.ps({ all: true })).toEqual([]);
});

test('a kept RUN step on the default bridge starts again, running the step again on its own filesystem', async () => {
  await build('FROM busybox\nRUN echo ran >> /log; cat /log\n', { remove: false });
  const [kept] = await t.engine.ps({ all: true });
  await t.engine.start(kept!.Id);
  expect(await t.engine.wait(kept!.Id)).toMatchObject({ StatusCode: 0 });
  // Its /log had the step's line; the run again adds one and prints both.
  expect((await logLines(kept!.Id)).slice(-2)).toEqual(['ran', 'ran']);
});
