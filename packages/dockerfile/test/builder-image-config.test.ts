import { promises as fs } from 'node:fs';
import { build, BuildEvent } from '@ctr/dockerfile';
import { busybox, DirBackend, makeContext } from './helpers/dir-backend';

let backend: DirBackend;
let context: string;

beforeEach(async () => {
  backend = await DirBackend.create({ busybox });
  context = await makeContext({ 'app.txt': 'hello\n' });
});
afterEach(async () => {
  await backend.dispose();
  await fs.rm(context, { recursive: true, force: true });
});

const now = (): string => '2026-11-22T05:00:00.000Z';

async function buildText(dockerfile: string, events: BuildEvent[] = []) {
  const { id } = await build({ backend, context, dockerfileContent: dockerfile, now, onEvent: (e) => events.push(e) });
  return backend.image(id).spec;
}

describe('the image config a build produces', () => {
  it('sets every config field from its instruction', async () => {
    const spec = await buildText(`FROM busybox
ENV A=1 B="two words"
ENV OLD form value
WORKDIR /app
WORKDIR sub
USER app:staff
EXPOSE 80 53/udp 8000-8001
VOLUME /data
VOLUME ["/logs", "/cache"]
LABEL version=1.0 "name with space"=x
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD wget -q localhost
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
ENTRYPOINT ["/entry"]
CMD echo $A
`);
    expect(spec.config).toEqual({
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1', 'B=two words', 'OLD=form value'],
      WorkingDir: '/app/sub',
      User: 'app:staff',
      ExposedPorts: { '80/tcp': {}, '53/udp': {}, '8000/tcp': {}, '8001/tcp': {} },
      Volumes: { '/data': {}, '/logs': {}, '/cache': {} },
      Labels: { version: '1.0', 'name with space': 'x' },
      StopSignal: 'SIGQUIT',
      Healthcheck: { Test: ['CMD-SHELL', 'wget -q localhost'], Interval: 30e9, Timeout: 3e9, Retries: 3 },
      Shell: ['/bin/ash', '-eo', 'pipefail', '-c'],
      Entrypoint: ['/entry'],
      Cmd: ['/bin/ash', '-eo', 'pipefail', '-c', 'echo $A'],
    });
    expect(spec).toMatchObject({ architecture: 'amd64', os: 'linux' });
  });

  it('lets ENTRYPOINT clear an inherited CMD but keeps a CMD set in the same stage', async () => {
    expect((await buildText('FROM busybox\nENTRYPOINT ["top"]\n')).config.Cmd).toBeUndefined();
    expect((await buildText('FROM busybox\nCMD ["-b"]\nENTRYPOINT ["top"]\n')).config.Cmd).toEqual(['-b']);
  });

  it('records history like Docker: #(nop) for metadata, the command for RUN, a content hash for COPY', async () => {
    const spec = await buildText('FROM busybox\nENV A=1\nCOPY app.txt /app/\nRUN echo hi > /x\nCMD ["sh", "-c", "x"]\nHEALTHCHECK CMD true\n');
    const added = spec.history.slice(2);
    expect(added.map((h) => h.created_by)).toEqual([
      '/bin/sh -c #(nop)  ENV A=1',
      expect.stringMatching(/^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \/app $/),
      '/bin/sh -c echo hi > /x',
      '/bin/sh -c #(nop)  CMD ["sh" "-c" "x"]',
      `/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "true"] "0s" "0s" "0s" "0s" '\\x00'}`,
    ]);
    expect(added.map((h) => h.empty_layer ?? false)).toEqual([true, false, false, true, true]);
    expect(added.every((h) => h.created === '2026-11-22T05:00:00.000Z')).toBe(true);
    expect(spec.history.slice(0, 2)).toEqual(busybox.config!.history);
    expect(spec.created).toBe('2026-11-22T05:00:00.000Z');
  });

  it('stores ONBUILD triggers and MAINTAINER as the author', async () => {
    const spec = await buildText('FROM busybox\nMAINTAINER Jane <jane@example.com>\nONBUILD RUN echo hi > /trigger\n');
    expect(spec.config.OnBuild).toEqual(['RUN echo hi > /trigger']);
    expect(spec.author).toBe('Jane <jane@example.com>');
  });

  it('adds --label labels to the final image', async () => {
    const { id } = await build({ backend, context, dockerfileContent: 'FROM busybox\nLABEL a=1\n', labels: { b: '2' } });
    expect(backend.image(id).spec.config.Labels).toEqual({ a: '1', b: '2' });
  });

  it('reports steps as Step n/m with the instruction text and its line', async () => {
    const events: BuildEvent[] = [];
    await buildText('FROM busybox\n\nENV A=1\nRUN true\n', events);
    expect(events.filter((e) => e.type === 'step')).toEqual([
      { type: 'step', step: 1, total: 3, stage: 0, instruction: 'FROM busybox', line: 1 },
      { type: 'step', step: 2, total: 3, stage: 0, instruction: 'ENV A=1', line: 3 },
      { type: 'step', step: 3, total: 3, stage: 0, instruction: 'RUN true', line: 4 },
    ]);
    expect(events[events.length - 1]).toMatchObject({ type: 'done' });
  });

  it('rejects an invalid STOPSIGNAL and EXPOSE with the Dockerfile line', async () => {
    await expect(buildText('FROM busybox\nSTOPSIGNAL SIGNOPE\n')).rejects.toMatchObject({ code: 'InvalidArgument', line: 2, reason: 'Invalid signal: SIGNOPE' });
    await expect(buildText('FROM busybox\nEXPOSE 80/xyz\n')).rejects.toMatchObject({ code: 'InvalidArgument', line: 2 });
    expect(backend.committed.size).toBe(0);
  });

  it('runs ONBUILD triggers of the base image once, before the first instruction', async () => {
    const parent = await buildText('FROM busybox\nONBUILD RUN echo from-trigger > /trigger\nCMD ["a"]\n');
    const parentId = [...backend.committed.keys()][0]!;
    const images = { busybox, parent: { files: {}, config: { config: parent.config } } };
    const child = await DirBackend.create(images);
    try {
      const events: BuildEvent[] = [];
      const { id } = await build({ backend: child, context, dockerfileContent: 'FROM parent\nRUN cat /trigger\n', onEvent: (e) => events.push(e) });
      expect(parentId).toMatch(/^sha256:/);
      expect(events).toContainEqual({ type: 'trigger', count: 1, stage: 0 });
      expect(child.runs.map((r) => r.args[2])).toEqual(['echo from-trigger > /trigger', 'cat /trigger']);
      expect(child.image(id).spec.config.OnBuild).toBeUndefined();
    } finally {
      await child.dispose();
    }
  });
});
