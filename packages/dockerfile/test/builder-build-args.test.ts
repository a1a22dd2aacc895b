import { promises as fs } from 'node:fs';
import { build, BuildEvent } from '@ctr/dockerfile';
import { busybox, DirBackend, makeContext } from './helpers/dir-backend';

let backend: DirBackend;
let context: string;

beforeEach(async () => {
  backend = await DirBackend.create({ busybox, 'busybox:1.36': busybox });
  context = await makeContext({});
});
afterEach(async () => {
  await backend.dispose();
  await fs.rm(context, { recursive: true, force: true });
});

describe('build args', () => {
  it('substitutes global ARGs into FROM, with --build-arg overriding the default', async () => {
    const dockerfile = 'ARG TAG=latest\nFROM busybox:${TAG}\nRUN true\n';
    await expect(build({ backend, context, dockerfileContent: dockerfile })).rejects.toMatchObject({ code: 'NotFound' });
    const { id } = await build({ backend, context, dockerfileContent: dockerfile, buildArgs: { TAG: '1.36' } });
    expect(backend.image(id).spec.history[0]).toEqual(busybox.config!.history![0]);
  });

  it('makes a global ARG visible in a stage only after it is declared there, with the global value', async () => {
    const dockerfile = 'ARG V=global\nFROM busybox\nRUN echo before=$V\nARG V\nRUN echo after=$V\n';
    await build({ backend, context, dockerfileContent: dockerfile });
    expect(backend.runs.map((r) => r.env.filter((e) => e.startsWith('V=')))).toEqual([[], ['V=global']]);
  });

  it('passes declared args to RUN, records them in history as |n K=V, and lets ENV win', async () => {
    const dockerfile = 'FROM busybox\nARG A=1\nARG B\nARG C=3\nENV C=env\nRUN true\n';
    const { id } = await build({ backend, context, dockerfileContent: dockerfile, buildArgs: { B: 'two' } });
    expect(backend.runs[0]!.env).toEqual(expect.arrayContaining(['A=1', 'B=two', 'C=env']));
    expect(backend.runs[0]!.env).not.toContain('C=3');
    const history = backend.image(id).spec.history;
    expect(history[history.length - 1]!.created_by).toBe('|2 A=1 B=two /bin/sh -c true');
  });

  it('expands ARG values in ENV, WORKDIR, LABEL, USER', async () => {
    const dockerfile = 'FROM busybox\nARG NAME=app\nENV HOME_DIR=/srv/${NAME}\nWORKDIR $HOME_DIR\nLABEL n=${NAME:-x} u=${UNSET:-fallback}\nUSER ${NAME}\n';
    const { id } = await build({ backend, context, dockerfileContent: dockerfile });
    expect(backend.image(id).spec.config).toMatchObject({
      WorkingDir: '/srv/app',
      Labels: { n: 'app', u: 'fallback' },
      User: 'app',
      Env: expect.arrayContaining(['HOME_DIR=/srv/app']),
    });
  });

  it('warns about build args no ARG consumed, but not about the predefined proxy args', async () => {
    const events: BuildEvent[] = [];
    const result = await build({
      backend,
      context,
      dockerfileContent: 'FROM busybox\nARG USED\nRUN true\n',
      buildArgs: { USED: '1', EXTRA: '2', HTTP_PROXY: 'http://127.0.0.1:3128' },
      onEvent: (e) => events.push(e),
    });
    expect(result.warnings).toEqual(['One or more build-args [EXTRA] were not consumed']);
    expect(events).toContainEqual({ type: 'warning', message: 'One or more build-args [EXTRA] were not consumed' });
  });

  it('gives proxy args to RUN without putting them in history', async () => {
    const { id } = await build({ backend, context, dockerfileContent: 'FROM busybox\nRUN true\n', buildArgs: { http_proxy: 'http://127.0.0.1:3128' } });
    expect(backend.runs[0]!.env).toContain('http_proxy=http://127.0.0.1:3128');
    const history = backend.image(id).spec.history;
    expect(history[history.length - 1]!.created_by).toBe('/bin/sh -c true');
  });

  it('fails with the line when a ${VAR:?} expansion is unset', async () => {
    await expect(build({ backend, context, dockerfileContent: 'FROM busybox\n\nENV X=${NEEDED:?required}\n' })).rejects.toMatchObject({
      code: 'InvalidArgument',
      line: 3,
      reason: 'NEEDED: required',
    });
  });
});
