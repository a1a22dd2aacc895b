import { promises as fs } from 'node:fs';
import { build, formatEvent, type BuildEvent } from '@ctr/dockerfile';
import { busybox, DirBackend, fakeShell, makeContext } from './helpers/dir-backend';

let context: string;
let backend: DirBackend;
let ids: number;

beforeEach(async () => {
  ids = 0;
  // The fake names each step's container as the engine does, before the step's output.
  backend = await DirBackend.create({ busybox }, (step, root, io) => {
    io.created?.(`00000000000${++ids}`);
    return fakeShell(step, root, io);
  });
  context = await makeContext({});
});
afterEach(async () => {
  await backend.dispose();
  await fs.rm(context, { recursive: true, force: true });
});

/** What the build prints up to its `Successfully built` line, image IDs as `<id>`. */
async function output(dockerfile: string): Promise<string> {
  let text = '';
  await build({ backend, context, dockerfileContent: dockerfile, onEvent: (e) => (text += e.type === 'done' ? '' : formatEvent(e)) });
  return text.replace(/ ---> [0-9a-f]{12}\n/g, ' ---> <id>\n');
}

describe("RUN steps' containers in the build output, as docker's classic builder prints them", () => {
  it('names the container before the output and says it was removed after it', async () => {
    expect(await output('FROM busybox\nRUN echo hello\n')).toBe(
      'Step 1/2 : FROM busybox\n ---> <id>\nStep 2/2 : RUN echo hello\n ---> Running in 000000000001\nhello\n ---> Removed intermediate container 000000000001\n ---> <id>\n',
    );
  });

  it('prints neither for a cached step', async () => {
    await output('FROM busybox\nRUN echo hello\n');
    expect(await output('FROM busybox\nRUN echo hello\n')).toBe('Step 1/2 : FROM busybox\n ---> <id>\nStep 2/2 : RUN echo hello\n ---> Using cache\n ---> <id>\n');
  });

  it("prints the base image's ID after FROM, then each step's image, each the next one's parent, the last the build's", async () => {
    const events: BuildEvent[] = [];
    const { id } = await build({ backend, context, dockerfileContent: 'FROM busybox\nRUN true\nENV A=1\nRUN true\n', onEvent: (e) => events.push(e) });
    const base = (await backend.resolveImage('busybox')).id;
    const images = events.flatMap((e) => (e.type === 'image' ? [e] : []));
    expect(images.map((e) => e.step)).toEqual([1, 2, 3, 4]);
    expect(images[0]?.id).toBe(base);
    expect(images[3]?.id).toBe(id);
    for (let i = 1; i < images.length; i++) expect(backend.image(images[i]!.id).spec.parent).toBe(images[i - 1]!.id);
  });

  it('does not say a failed step\'s container was removed (docker keeps it unless --force-rm)', async () => {
    const events: BuildEvent[] = [];
    await expect(build({ backend, context, dockerfileContent: 'FROM busybox\nRUN false\n', onEvent: (e) => events.push(e) })).rejects.toThrow('returned a non-zero code: 1');
    expect(events.filter((e) => e.type === 'container' || e.type === 'container-removed')).toEqual([{ type: 'container', step: 2, id: '000000000001' }]);
  });

  it('runs a step without RUN --network on the build\'s default network, and one with --network=none without any', async () => {
    await output('FROM busybox\nRUN true\nRUN --network=none true\nRUN --network=default true\n');
    expect(backend.runs.map((r) => r.network)).toEqual(['default', 'none', 'default']);
  });
});
