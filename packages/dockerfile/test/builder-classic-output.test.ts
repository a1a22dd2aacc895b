import { promises as fs } from 'node:fs';
import { build, formatEvent, type BuildOptions } from '@ctr/dockerfile';
import { busybox, DirBackend, makeContext, type DirState, type FakeImage } from './helpers/dir-backend';

/** A base image whose config has no PATH, as `ctr import` without `--change ENV` makes one. */
const bare: FakeImage = { files: { 'bin/sh': '#!fake' }, config: { config: { Cmd: ['sh'] }, history: [] } };
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

let context: string;
let backend: DirBackend;

beforeEach(async () => {
  backend = await DirBackend.create({ busybox, bare });
  context = await makeContext({});
});
afterEach(async () => {
  await backend.dispose();
  await fs.rm(context, { recursive: true, force: true });
});

async function built(dockerfile: string, options: Partial<BuildOptions<DirState>> = {}): Promise<{ id: string; text: string }> {
  let text = '';
  const { id } = await build({ backend, context, dockerfileContent: dockerfile, onEvent: (e) => (text += formatEvent(e)), ...options });
  return { id, text: text.replace(/[0-9a-f]{12}\n/g, '<id>\n') };
}

describe("the classic builder's image config", () => {
  it('puts the default PATH into the image of a base that has none', async () => {
    const { id } = await built('FROM bare\nENV A=1\n');
    expect(backend.image(id).spec.config.Env).toEqual([DEFAULT_PATH, 'A=1']);
  });

  it('gives a FROM scratch image the default PATH', async () => {
    const { id } = await built('FROM scratch\nCMD ["/app"]\n');
    expect(backend.image(id).spec.config.Env).toEqual([DEFAULT_PATH]);
  });

  it("keeps the base image's own PATH", async () => {
    const { id } = await built('FROM busybox\nENV B=2\n');
    expect(backend.image(id).spec.config.Env).toEqual([DEFAULT_PATH, 'B=2']);
  });

  it('keeps a PATH the Dockerfile sets', async () => {
    const { id } = await built('FROM bare\nENV PATH=/opt/bin\n');
    expect(backend.image(id).spec.config.Env).toEqual(['PATH=/opt/bin']);
  });

  it('leaves a stage with no step after FROM as the base image is: the base itself, no PATH added', async () => {
    const { id } = await built('FROM bare\n');
    expect(id).toBe((await backend.resolveImage('bare')).id);
    expect(backend.committed.size).toBe(0);
  });

  it('gives RUN steps the default PATH too', async () => {
    await built('FROM bare\nRUN true\n');
    expect(backend.runs[0]?.env).toContain(DEFAULT_PATH);
  });

  it('adds no PATH to a windows stage', async () => {
    const { id } = await built('FROM scratch\nCMD ["app.exe"]\n', { platform: 'windows/amd64' });
    expect(backend.image(id).spec.config.Env).toBeUndefined();
  });
});

describe('--label, as dockerd adds it', () => {
  it('is one LABEL step per label after the last instruction, keys sorted, written key=value', async () => {
    const { text } = await built('FROM busybox\nENV A=1\n', { labels: { 'b.key': 'two words', a: 'one' } });
    const meta = ' ---> Running in <id>\n ---> Removed intermediate container <id>\n ---> <id>\n';
    expect(text).toBe(`Step 1/4 : FROM busybox\n ---> <id>\nStep 2/4 : ENV A=1\n${meta}Step 3/4 : LABEL a=one\n${meta}Step 4/4 : LABEL b.key=two words\n${meta}Successfully built <id>\n`);
  });

  it('is recorded in the history as a LABEL instruction per label', async () => {
    const { id } = await built('FROM busybox\n', { labels: { b: 'two', a: 'one' } });
    expect(backend.image(id).spec.history.slice(-2)).toMatchObject([
      { created_by: '/bin/sh -c #(nop)  LABEL a=one', empty_layer: true },
      { created_by: '/bin/sh -c #(nop)  LABEL b=two', empty_layer: true },
    ]);
  });

  it('keeps values as written: no expansion, quotes kept', async () => {
    const { id } = await built('FROM busybox\nENV HOME=/root\n', { labels: { v: "it's $HOME" } });
    expect(backend.image(id).spec.config.Labels).toEqual({ v: "it's $HOME" });
  });

  it('keeps values as written under another escape token', async () => {
    const { id } = await built('# escape=`\nFROM busybox\n', { labels: { v: "a'b" } });
    expect(backend.image(id).spec.config.Labels).toEqual({ v: "a'b" });
  });

  it('labels the target stage', async () => {
    const { id } = await built('FROM busybox AS one\nFROM busybox\nENV B=2\n', { target: 'one', labels: { a: '1' } });
    expect(backend.image(id).spec.config.Labels).toEqual({ a: '1' });
  });
});

describe('the unused build-arg warning', () => {
  it("comes after the last step's image, before Successfully built, as dockerd prints it", async () => {
    const { text } = await built('FROM busybox\nARG USED\n', { buildArgs: { USED: '1', NOPE: '2', ZED: '3' } });
    expect(text).toBe(
      'Step 1/2 : FROM busybox\n ---> <id>\nStep 2/2 : ARG USED\n ---> Running in <id>\n ---> Removed intermediate container <id>\n ---> <id>\n[Warning] One or more build-args [NOPE ZED] were not consumed\nSuccessfully built <id>\n',
    );
  });
});

describe('steps as dockerd counts and prints them', () => {
  it('makes each ARG before the first FROM a step, counted in the total, with no image line after it', async () => {
    const { text } = await built('ARG BASE=busybox\nARG V=1\nFROM ${BASE}\n');
    expect(text).toBe('Step 1/3 : ARG BASE=busybox\nStep 2/3 : ARG V=1\nStep 3/3 : FROM ${BASE}\n ---> <id>\nSuccessfully built <id>\n');
  });

  it('builds a stage that COPY --from=$ARG names before the stage that copies, counted in the total', async () => {
    const { text } = await built('FROM busybox AS src\nENV S=1\nFROM busybox\nARG FROM_STAGE=src\nCOPY --from=$FROM_STAGE /bin/sh /sh\n');
    expect(text.split('\n').filter((line) => line.startsWith('Step '))).toEqual([
      'Step 1/5 : FROM busybox AS src',
      'Step 2/5 : ENV S=1',
      'Step 3/5 : FROM busybox',
      'Step 4/5 : ARG FROM_STAGE=src',
      'Step 5/5 : COPY --from=$FROM_STAGE /bin/sh /sh',
    ]);
  });

  it('plans the stage a --build-arg names in COPY --from=$ARG, not the default', async () => {
    const { text } = await built('FROM busybox AS a\nENV A=1\nFROM busybox AS b\nENV B=1\nFROM busybox\nARG S=a\nCOPY --from=$S /bin/sh /sh\n', { buildArgs: { S: 'b' } });
    expect(text.split('\n').filter((line) => line.startsWith('Step '))[0]).toBe('Step 1/5 : FROM busybox AS b');
  });

  it('says a HEALTHCHECK replaced before the step that replaces it commits', async () => {
    const { text } = await built('FROM busybox\nHEALTHCHECK CMD ["true"]\nHEALTHCHECK --interval=1m CMD exit 0\n');
    expect(text).toContain('Step 3/3 : HEALTHCHECK --interval=1m CMD exit 0\nNote: overriding previous HEALTHCHECK: [CMD true]\n ---> Running in <id>\n');
  });

  it('says nothing when the HEALTHCHECK replaced is NONE', async () => {
    const { text } = await built('FROM busybox\nHEALTHCHECK NONE\nHEALTHCHECK CMD true\n');
    expect(text).not.toContain('Note:');
  });

  it("prints the parser's warnings first, in moby's words, then the line saying what they will become", async () => {
    const { text } = await built('FROM busybox\nENV A=1 \\\n\n  B=2\n');
    expect(text).toMatch(/^\[WARNING\]: Empty continuation line found in: ENV A=1 +B=2\n\[WARNING\]: Empty continuation lines will become errors in a future release\.\nStep 1\/2 : FROM busybox\n/);
  });
});
