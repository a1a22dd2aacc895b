import { promises as fs } from 'node:fs';
import { build, formatEvent, type BuildOptions, type RunResult } from '@ctr/dockerfile';
import { busybox, DirBackend, fakeShell, makeContext, type DirState } from './helpers/dir-backend';

let context: string;
let backend: DirBackend;
/** What the fake says of the step's container: kept or not (undefined: nothing, as a backend that cannot keep one). */
let kept: boolean | undefined;

beforeEach(async () => {
  kept = undefined;
  let ids = 0;
  backend = await DirBackend.create({ busybox }, (step, root, io) => {
    io.created?.(`00000000000${++ids}`);
    return fakeShell(step, root, io);
  });
  const run = backend.run.bind(backend);
  backend.run = async (...args): Promise<RunResult<DirState>> => ({ ...(await run(...args)), ...(kept !== undefined ? { kept } : {}) });
  context = await makeContext({});
});
afterEach(async () => {
  await backend.dispose();
  await fs.rm(context, { recursive: true, force: true });
});

/** What the build prints, image IDs as `<id>`, and how it ended. */
async function output(dockerfile: string, options: Partial<BuildOptions<DirState>> = {}): Promise<string> {
  let text = '';
  const ended = await build({ backend, context, dockerfileContent: dockerfile, onEvent: (e) => (text += e.type === 'done' ? '' : formatEvent(e)), ...options }).then(
    () => '',
    (error: Error) => `error: ${error.message}\n`,
  );
  return text.replace(/ ---> [0-9a-f]{12}\n/g, ' ---> <id>\n') + ended;
}

describe("docker's --rm and --force-rm, as the builder asks the backend for them", () => {
  it('by default asks to keep a step\'s container only if the step fails', async () => {
    await output('FROM busybox\nRUN true\n');
    expect(backend.runs[0]?.keep?.when).toBe('on-failure');
  });

  it('with remove: false asks to keep every step\'s container', async () => {
    await output('FROM busybox\nRUN true\n', { remove: false });
    expect(backend.runs[0]?.keep?.when).toBe('always');
  });

  it('with forceRemove asks to keep none, whatever remove says', async () => {
    await output('FROM busybox\nRUN true\n', { remove: false, forceRemove: true });
    expect(backend.runs[0]?.keep).toBeUndefined();
  });

  it('gives the stage so far as the image a kept container is a container of: the previous step\'s', async () => {
    await output('FROM busybox\nENV A=1\nRUN true\n', { labels: { only: 'final' } });
    const image = backend.image(backend.runs[0]!.keep!.image).spec;
    expect(image?.config.Env).toContain('A=1');
    expect(image?.config.Labels).toBeUndefined();
    expect(image?.history.map((h) => h.created_by)).toEqual([
      '/bin/sh -c #(nop) ADD file:abc in / ',
      '/bin/sh -c #(nop)  CMD ["sh"]',
      '/bin/sh -c #(nop)  ENV A=1',
    ]);
  });
});

describe('what the build says of a step\'s container, as the backend tells', () => {
  it('says nothing of a container kept after a successful step', async () => {
    kept = true;
    expect(await output('FROM busybox\nRUN echo hi\n', { remove: false })).toBe('Step 1/2 : FROM busybox\n ---> <id>\nStep 2/2 : RUN echo hi\n ---> Running in 000000000001\nhi\n ---> <id>\n');
  });

  it('says a failed step\'s container was removed, before the error, when it was', async () => {
    kept = false;
    expect(await output('FROM busybox\nRUN false\n', { forceRemove: true })).toBe(
      "Step 1/2 : FROM busybox\n ---> <id>\nStep 2/2 : RUN false\n ---> Running in 000000000001\n ---> Removed intermediate container 000000000001\nerror: The command '/bin/sh -c false' returned a non-zero code: 1\n",
    );
  });

  it('says nothing of a failed step\'s container kept', async () => {
    kept = true;
    expect(await output('FROM busybox\nRUN false\n')).toBe("Step 1/2 : FROM busybox\n ---> <id>\nStep 2/2 : RUN false\n ---> Running in 000000000001\nerror: The command '/bin/sh -c false' returned a non-zero code: 1\n");
  });
});
