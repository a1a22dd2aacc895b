import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { build, BuildEvent } from '@ctr/dockerfile';
import { busybox, DirBackend, makeContext } from './helpers/dir-backend';

let backend: DirBackend;
let context: string;

beforeEach(async () => {
  backend = await DirBackend.create({ busybox });
  context = await makeContext({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
});
afterEach(async () => {
  await backend.dispose();
  await fs.rm(context, { recursive: true, force: true });
});

const dockerfile = `FROM busybox
ENV MODE=prod
RUN echo one > /one
COPY a.txt /a.txt
RUN echo two > /two
COPY b.txt /b.txt
RUN echo three > /three
`;

async function run(noCache = false): Promise<{ id: string; hits: number[] }> {
  const events: BuildEvent[] = [];
  const { id } = await build({ backend, context, dockerfileContent: dockerfile, noCache, onEvent: (e) => events.push(e) });
  return { id, hits: events.flatMap((e) => (e.type === 'cache-hit' ? [e.step] : [])) };
}

describe('the layer cache', () => {
  it('makes an unchanged rebuild a full cache hit with the same image ID and no work', async () => {
    const first = await run();
    const runs = backend.runs.length;
    const applies = backend.applies.length;
    const second = await run();
    expect(second.hits).toEqual([2, 3, 4, 5, 6, 7]);
    expect(second.id).toBe(first.id);
    expect(backend.runs.length).toBe(runs);
    expect(backend.applies.length).toBe(applies);
  });

  it('rebuilds only from the first COPY that reads a changed file', async () => {
    await run();
    await fs.writeFile(path.join(context, 'b.txt'), 'changed\n');
    const second = await run();
    expect(second.hits).toEqual([2, 3, 4, 5]);
    expect(backend.runs.slice(-1).map((r) => r.args[2])).toEqual(['echo three > /three']);
  });

  it('ignores modification times: touching a file keeps the cache', async () => {
    const first = await run();
    const later = new Date(Date.now() + 3600_000);
    await fs.utimes(path.join(context, 'a.txt'), later, later);
    const second = await run();
    expect(second.hits).toHaveLength(6);
    expect(second.id).toBe(first.id);
  });

  it('does not use the cache with noCache', async () => {
    await run();
    const runs = backend.runs.length;
    const second = await run(true);
    expect(second.hits).toEqual([]);
    expect(backend.runs.length).toBe(runs + 3);
  });

  it('keys steps on the build args that reach them', async () => {
    const withArg = 'FROM busybox\nARG V=1\nRUN true\n';
    await build({ backend, context, dockerfileContent: withArg });
    const events: BuildEvent[] = [];
    await build({ backend, context, dockerfileContent: withArg, buildArgs: { V: '2' }, onEvent: (e) => events.push(e) });
    // the ARG line itself is unchanged; the RUN it reaches is not reused
    expect(events.filter((e) => e.type === 'cache-hit')).toEqual([{ type: 'cache-hit', step: 2 }]);
    expect(backend.runs).toHaveLength(2);
  });

  it('never shares keys between different base images', async () => {
    const other = await DirBackend.create({ busybox, other: { files: { x: 'y' } } });
    try {
      await build({ backend: other, context, dockerfileContent: 'FROM busybox\nRUN true\n' });
      const events: BuildEvent[] = [];
      await build({ backend: other, context, dockerfileContent: 'FROM other\nRUN true\n', onEvent: (e) => events.push(e) });
      expect(events.filter((e) => e.type === 'cache-hit')).toHaveLength(0);
    } finally {
      await other.dispose();
    }
  });
});
