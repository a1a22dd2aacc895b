/**
 * `ctr pull` and `ctr push` show what `docker pull` and `docker push` show, line for line:
 * the same events drawn the same way. The docker side is the real docker CLI against ctrd
 * (whose JSON messages are dockerd's); the ctr side is the daemonless command on a root of
 * its own, and ctr against ctrd (`-H`). Registries: ctr's server and the Debian
 * docker-registry, on 127.0.0.1. Layer lines are compared as each layer's statuses in order
 * (concurrent layers interleave as they will), and whole outputs where only one layer moves.
 *
 * - pull, no terminal: a line per status ("Pulling fs layer", "Verifying Checksum",
 *   "Download complete", "Pull complete"; "Already exists" for busybox's layer, which both
 *   have), none for "Downloading"/"Extracting"; then the digest, the outcome and the reference.
 * - pull on a terminal (a pty, 150 columns): the layers' lines redrawn in place, byte for byte
 *   as the docker CLI redraws them.
 * - push: "Preparing" for every layer, top first, under its short diffID (dockerd's classic
 *   store), then "Pushed"; the tag's digest line.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runProcess } from '../../../test/support/run-process';
import { docker } from '../../api/test/fixture';
import { startBothRegistries, type BothRegistries } from '../../registry/test/support/both-registries';
import { localCtr, type LocalCtr } from './local-ctr';
import { cleanEnv, ctr as runCtr, startTestDaemon, type TestDaemon } from './remote-fixture';

let source: LocalCtr;
let puller: LocalCtr;
let daemon: TestDaemon;
let servers: BothRegistries | undefined;

beforeAll(async () => {
  [source, puller, daemon, servers] = await Promise.all([
    localCtr('progress-source'),
    localCtr('progress-puller'),
    startTestDaemon(),
    startBothRegistries('ctr-cli-progress-'),
  ]);
}, 120_000);

afterAll(async () => {
  await servers?.close();
  await source?.cleanup();
  await puller?.cleanup();
  await daemon?.cleanup();
});

/** Builds `FROM busybox` plus a file saying `text` as `tag` in the source root. */
async function buildApp(tag: string, text: string): Promise<void> {
  const context = await mkdtemp(join(servers!.work, 'context-'));
  await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nCOPY file /file\n');
  await writeFile(join(context, 'file'), `${text}\n`.repeat(50_000));
  const built = await source.run('build', '-q', '-t', tag, context);
  if (built.code !== 0) throw new Error(`ctr build: ${built.stderr}`);
}

/** ctr against the test daemon (`-H`). */
const remote = (...args: string[]): ReturnType<typeof runCtr> => runCtr(['-H', `unix://${daemon.socket}`, ...args], { env: cleanEnv() });

/** Each layer's lines' statuses in order, by the layer's 12-hex ID. */
function layerStatuses(output: string): Map<string, string[]> {
  const layers = new Map<string, string[]>();
  for (const line of output.split('\n')) {
    const match = /^([0-9a-f]{12}): (.*)$/.exec(line);
    if (match) layers.set(match[1] as string, [...(layers.get(match[1] as string) ?? []), match[2] as string]);
  }
  return layers;
}

/** The lines that are not a layer's. */
const otherLines = (output: string): string[] => output.split('\n').filter((line) => !/^[0-9a-f]{12}: /.test(line));

/** The short (12-hex) form of each layer's diffID of `image` in `root`, base first. */
async function diffIds(on: LocalCtr, image: string): Promise<string[]> {
  const inspected = await on.run('image', 'inspect', '--format', '{{json .RootFS.Layers}}', image);
  return (JSON.parse(inspected.stdout) as string[]).map((digest) => digest.slice(7, 19));
}

test('ctr pull shows, line for line, what docker pull shows through ctrd', async () => {
  const repo = `${servers!.ctrRegistry.host}/progress/pulled`;
  await buildApp(`${repo}:v1`, 'pulled');
  expect((await source.run('push', '-q', `${repo}:v1`)).code).toBe(0);

  const mine = await puller.run('pull', `${repo}:v1`);
  const theirs = await docker(daemon.env, ['pull', `${repo}:v1`]);
  expect(mine).toMatchObject({ code: 0, stderr: '' });
  expect(theirs).toMatchObject({ code: 0, stderr: '' });
  expect(mine.stdout).toBe(theirs.stdout);
  // busybox's layer is in both roots; the image's own goes every step to "Pull complete".
  const [base, own] = [...layerStatuses(mine.stdout).keys()];
  expect(layerStatuses(mine.stdout).get(base as string)).toEqual(['Already exists']);
  expect(layerStatuses(mine.stdout).get(own as string)).toEqual(['Pulling fs layer', 'Verifying Checksum', 'Download complete', 'Pull complete']);
  expect(otherLines(mine.stdout)).toEqual([
    'v1: Pulling from progress/pulled',
    expect.stringMatching(/^Digest: sha256:[0-9a-f]{64}$/),
    `Status: Downloaded newer image for ${repo}:v1`,
    `${repo}:v1`,
    '',
  ]);

  // Pulled again: the image is here in full, and neither says a word per layer.
  const again = await remote('pull', `${repo}:v1`);
  const theirsAgain = await docker(daemon.env, ['pull', `${repo}:v1`]);
  expect(again).toMatchObject({ code: 0, stderr: '' });
  expect(again.stdout).toBe(theirsAgain.stdout);
  expect(otherLines(again.stdout)).toEqual([
    'v1: Pulling from progress/pulled',
    expect.stringMatching(/^Digest: sha256:[0-9a-f]{64}$/),
    `Status: Image is up to date for ${repo}:v1`,
    `${repo}:v1`,
    '',
  ]);
  expect(layerStatuses(again.stdout).size).toBe(0);
});

test('ctr push shows what docker push shows: every layer Preparing, top first, under its short diffID, then Pushed or Mounted from', async () => {
  const image = `${servers!.ctrRegistry.host}/progress/pushed:v1`;
  await buildApp(image, 'pushed');
  const registry = servers!.distribution.host;
  // ctrd gets the same image (same blobs) by pulling it; each side pushes to a repository of its own.
  expect((await source.run('push', '-q', image)).code).toBe(0);
  expect((await docker(daemon.env, ['pull', '-q', image])).code).toBe(0);
  expect((await docker(daemon.env, ['tag', image, `${registry}/progress/by-docker:v1`])).code).toBe(0);
  expect((await source.run('tag', image, `${registry}/progress/by-ctr:v1`)).code).toBe(0);
  expect((await remote('tag', image, `${registry}/progress/by-remote-ctr:v1`)).code).toBe(0);

  const theirs = await docker(daemon.env, ['push', `${registry}/progress/by-docker:v1`]);
  const mine = await source.run('push', `${registry}/progress/by-ctr:v1`);
  const remotely = await remote('push', `${registry}/progress/by-remote-ctr:v1`);
  const ids = (await diffIds(source, image)).reverse();
  // ctrd's image is named in by-docker now, on the same registry: as dockerd, it mounts the layers from there.
  const outcomes = [
    ['docker', theirs, 'Pushed'],
    ['ctr', mine, 'Pushed'],
    ['ctr -H', remotely, 'Mounted from progress/by-docker'],
  ] as const;
  for (const [who, result, outcome] of outcomes) {
    expect([who, result.code, result.stderr]).toEqual([who, 0, '']);
    const lines = result.stdout.split('\n');
    expect([who, lines.slice(1, 3)]).toEqual([who, ids.map((id) => `${id}: Preparing`)]);
    expect([who, Object.fromEntries(layerStatuses(result.stdout))]).toEqual([who, Object.fromEntries(ids.map((id) => [id, ['Preparing', outcome]]))]);
  }
  const repository = (output: string): string[] => otherLines(output).map((line) => line.replace(/progress\/by-[a-z-]+/, 'progress/REPO'));
  expect(repository(mine.stdout)).toEqual(repository(theirs.stdout));
  expect(repository(remotely.stdout)).toEqual(repository(theirs.stdout));
  expect(repository(mine.stdout)).toEqual([
    `The push refers to repository [${registry}/progress/REPO]`,
    expect.stringMatching(/^v1: digest: sha256:[0-9a-f]{64} size: \d+$/),
    '',
  ]);
  // Pushed again, every layer is there: "Layer already exists", from both.
  const theirsAgain = await docker(daemon.env, ['push', `${registry}/progress/by-docker:v1`]);
  const mineAgain = await source.run('push', `${registry}/progress/by-ctr:v1`);
  for (const result of [theirsAgain, mineAgain]) {
    expect(Object.fromEntries(layerStatuses(result.stdout))).toEqual(Object.fromEntries(ids.map((id) => [id, ['Preparing', 'Layer already exists']])));
  }
  expect(repository(mineAgain.stdout)).toEqual(repository(theirsAgain.stdout));
});

/** `file args…` on a terminal of 150 columns (a pty of util-linux's script): everything it wrote there. */
async function onTerminal(env: NodeJS.ProcessEnv, file: string, args: string[]): Promise<string> {
  const quoted = [file, ...args].map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
  const result = await runProcess('script', ['-qec', `stty cols 150 rows 50; ${quoted}`, '/dev/null'], { env });
  if (result.code !== 0) throw new Error(`${file} ${args.join(' ')} on a terminal: exit ${result.code}: ${result.stdout}${result.stderr}`);
  return result.stdout;
}

test('on a terminal, ctr pull redraws the layer lines byte for byte as docker pull does', async () => {
  const repo = `${servers!.ctrRegistry.host}/progress/tty`;
  await buildApp(`${repo}:v1`, 'terminal');
  expect((await source.run('push', '-q', `${repo}:v1`)).code).toBe(0);
  const [file, ...args] = puller.argv('pull', `${repo}:v1`);
  const mine = await onTerminal(cleanEnv(), file as string, args);
  const theirs = await onTerminal(daemon.env, 'docker', ['pull', `${repo}:v1`]);
  expect(mine).toBe(theirs);
});

test("ctr pull of a tag the registry lacks shows no \"Pulling from\": dockerd writes it once the manifest is found; its refusal is the daemon's answer", async () => {
  const repo = `${servers!.ctrRegistry.host}/progress/pulled`;
  await buildApp(`${repo}:v1`, 'there');
  expect((await source.run('push', '-q', `${repo}:v1`)).code).toBe(0);
  const mine = await puller.run('pull', `${repo}:nope`);
  expect(mine).toMatchObject({ code: 1, stdout: '' });
  expect(mine.stderr).toMatch(new RegExp(`^Error response from daemon: manifest for ${repo.replace(/\./g, '\\.')}:nope not found: .*\\n$`));
});
