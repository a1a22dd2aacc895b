import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { build, BuildEvent } from '@ctr/dockerfile';
import { busybox, DirBackend, makeContext } from './helpers/dir-backend';

let backend: DirBackend;
let context: string;

beforeEach(async () => {
  backend = await DirBackend.create({ busybox });
  context = await makeContext({});
});
afterEach(async () => {
  await backend.dispose();
  await fs.rm(context, { recursive: true, force: true });
});

describe('RUN', () => {
  it('runs shell form through the SHELL and exec form as written, on the previous state, with WORKDIR and USER', async () => {
    const { id } = await build({
      backend,
      context,
      dockerfileContent: 'FROM busybox\nWORKDIR /w\nUSER 1000\nRUN echo a > f\nRUN ["echo", "b"]\nSHELL ["/bin/ash", "-c"]\nRUN cat f\n',
    });
    expect(backend.runs.map((r) => [r.args, r.workdir, r.user, r.network])).toEqual([
      [['/bin/sh', '-c', 'echo a > f'], '/w', '1000', 'default'],
      [['echo', 'b'], '/w', '1000', 'default'],
      [['/bin/ash', '-c', 'cat f'], '/w', '1000', 'default'],
    ]);
    expect(await fs.readFile(path.join(backend.image(id).state.dir, 'w/f'), 'utf8')).toBe('a\n');
  });

  it('streams the command output as events of its step', async () => {
    const events: BuildEvent[] = [];
    await build({ backend, context, dockerfileContent: 'FROM busybox\nRUN echo hello\n', onEvent: (e) => events.push(e) });
    const output = events.filter((e) => e.type === 'output');
    expect(output).toEqual([{ type: 'output', step: 2, stream: 'stdout', data: Buffer.from('hello\n') }]);
  });

  it("fails like Docker: The command '/bin/sh -c false' returned a non-zero code: 1, with step, line and exit code", async () => {
    const failing = build({ backend, context, dockerfileContent: 'FROM busybox\nRUN true\n\nRUN false\nRUN echo never\n' });
    await expect(failing).rejects.toMatchObject({
      message: "The command '/bin/sh -c false' returned a non-zero code: 1",
      details: { step: 3, line: 4, exitCode: 1, file: 'Dockerfile' },
    });
    // The steps before it are images (docker's intermediate ones); the failed step is none.
    expect([...backend.committed.values()].map((image) => image.spec.history.at(-1)?.created_by)).toEqual(['/bin/sh -c true']);
    expect(backend.runs).toHaveLength(2);
  });

  it('runs a lone heredoc as the script and hands other heredocs to the shell', async () => {
    const recorder = await DirBackend.create({ busybox }, () => 0);
    try {
      await build({
        backend: recorder,
        context,
        dockerfileContent: 'FROM busybox\nRUN <<EOF\necho one > /one\nEOF\nRUN <<-EOF cat\n\techo two\nEOF\n',
      });
      expect(recorder.runs.map((r) => r.args[2])).toEqual(['echo one > /one\n', '<<-EOF cat\n\techo two\nEOF']);
    } finally {
      await recorder.dispose();
    }
  });

  it('refuses --network=host and --security=insecure unless entitled', async () => {
    const attempt = (line: string) => build({ backend, context, dockerfileContent: `FROM busybox\n${line}\n` });
    await expect(attempt('RUN --network=host true')).rejects.toMatchObject({ code: 'Denied', details: { line: 2 } });
    await expect(attempt('RUN --security=insecure true')).rejects.toMatchObject({ code: 'Denied' });
    const allowed = await build({ backend, context, dockerfileContent: 'FROM busybox\nRUN --network=host true\n', allow: { networkHost: true } });
    expect(allowed.id).toMatch(/^sha256:/);
    expect(backend.runs.map((r) => r.network)).toEqual(['host']);
  });

  it('rejects unknown RUN flags with a suggestion and the line', async () => {
    await expect(build({ backend, context, dockerfileContent: 'FROM busybox\nRUN --netwrk=none true\n' })).rejects.toMatchObject({
      reason: 'unknown flag: --netwrk (did you mean network?)',
      line: 2,
    });
  });

  it('stops when the signal is aborted', async () => {
    const controller = new AbortController();
    const running = build({
      backend,
      context,
      dockerfileContent: 'FROM busybox\nRUN true\nRUN true\n',
      signal: controller.signal,
      onEvent: (e) => e.type === 'step' && e.step === 2 && controller.abort(),
    });
    await expect(running).rejects.toMatchObject({ code: 'Aborted' });
    expect(backend.committed.size).toBe(0);
  });
});
