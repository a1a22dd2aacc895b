/**
 * The real docker CLI's legacy builder (DOCKER_BUILDKIT=0) against ctrd: what it prints,
 * line by line as dockerd's classic builder streams it (IDs matched by pattern), how a failed
 * step ends, and the config of an image built on a base without PATH.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, request, useTestDaemon } from './fixture';

const t = useTestDaemon();
let context: string;

beforeAll(async () => {
  context = await mkdtemp(join(tmpdir(), 'ctr-api-build-classic-'));
});
afterAll(async () => {
  if (context) await rm(context, { recursive: true, force: true });
});

const dockerfile = (text: string): Promise<void> => writeFile(join(context, 'Dockerfile'), text);
/** The output as a pattern: every line as written, `<id>` for a 12-hex ID, `<size>` for the context's (the CLI ends that line `\r\r\n`). */
const lines = (...expected: string[]): RegExp =>
  new RegExp(`^${expected.map((l) => l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replaceAll('<id>', '[0-9a-f]{12}').replaceAll('<size>', '[0-9.]+k?B\\r\\r')).join('\n')}\n$`);

test('docker build prints the classic lines: steps, containers, the label step, the unused-arg warning', async () => {
  await dockerfile('FROM busybox\nARG USED\nRUN echo ran\n');
  const built = await docker(t.env, ['build', '--no-cache', '--build-arg', 'USED=1', '--build-arg', 'NOPE=2', '--label', 'a=1', '-t', 'classic/api', context]);
  expect(built.code).toBe(0);
  expect(built.stdout).toMatch(
    lines(
      'Sending build context to Docker daemon  <size>',
      'Step 1/4 : FROM busybox',
      ' ---> <id>',
      'Step 2/4 : ARG USED',
      ' ---> Running in <id>',
      ' ---> Removed intermediate container <id>',
      ' ---> <id>',
      'Step 3/4 : RUN echo ran',
      ' ---> Running in <id>',
      'ran',
      ' ---> Removed intermediate container <id>',
      ' ---> <id>',
      'Step 4/4 : LABEL a=1',
      ' ---> Running in <id>',
      ' ---> Removed intermediate container <id>',
      ' ---> <id>',
      '[Warning] One or more build-args [NOPE] were not consumed',
      'Successfully built <id>',
      'Successfully tagged classic/api:latest',
    ),
  );
});

test("a failed RUN ends with docker's words on stderr and the step's exit code", async () => {
  await dockerfile('FROM busybox\nRUN exit 3\n');
  const failed = await docker(t.env, ['build', context]);
  expect(failed.stdout).toMatch(lines('Sending build context to Docker daemon  <size>', 'Step 1/2 : FROM busybox', ' ---> <id>', 'Step 2/2 : RUN exit 3', ' ---> Running in <id>'));
  expect(failed.stderr.endsWith("\nThe command '/bin/sh -c exit 3' returned a non-zero code: 3\n")).toBe(true);
  expect(failed.code).toBe(3);
});

test("a quiet build whose RUN fails shows the build's output on stderr, then docker's words, and exits with the step's code", async () => {
  await dockerfile('FROM busybox\nRUN echo before; exit 3\n');
  const failed = await docker(t.env, ['build', '-q', context]);
  expect(failed.stdout).toBe('');
  expect(failed.stderr).toContain('Step 2/2 : RUN echo before; exit 3');
  expect(failed.stderr).toContain('before\n');
  expect(failed.stderr.endsWith("\nThe command '/bin/sh -c echo before; exit 3' returned a non-zero code: 3\n")).toBe(true);
  expect(failed.code).toBe(3);
});

test('a Dockerfile that does not parse is the daemon\'s error response, before any step', async () => {
  await dockerfile('FROM busybox\nFROBNICATE now\n');
  const failed = await docker(t.env, ['build', context]);
  expect(failed.stdout).toMatch(lines('Sending build context to Docker daemon  <size>'));
  expect(failed.stderr).toMatch(/^Error response from daemon: .*FROBNICATE/m);
  expect(failed.code).toBe(1);
});

test('an image built on a base without PATH has the default PATH', async () => {
  expect((await docker(t.env, ['image', 'inspect', '--format', '{{json .Config.Env}}', 'busybox'])).stdout).toBe('null\n');
  await dockerfile('FROM busybox\nENV A=1\n');
  const built = await docker(t.env, ['build', '-q', context]);
  const env = await docker(t.env, ['image', 'inspect', '--format', '{{json .Config.Env}}', built.stdout.trim()]);
  expect(env.stdout).toBe('["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=1"]\n');
});

test("docker build prints the ARGs before the first FROM as steps, counted, with no image line after them", async () => {
  await dockerfile('ARG BASE=busybox\nFROM ${BASE}\n');
  const built = await docker(t.env, ['build', context]);
  expect(built.stdout).toMatch(lines('Sending build context to Docker daemon  <size>', 'Step 1/2 : ARG BASE=busybox', 'Step 2/2 : FROM ${BASE}', ' ---> <id>', 'Successfully built <id>'));
});

test("a RUN's stderr reaches docker's CLI in red, as dockerd's stderr writer sends it", async () => {
  await dockerfile('FROM busybox\nRUN echo out; echo err >&2\n');
  const built = await docker(t.env, ['build', '--no-cache', context]);
  expect(built.stdout).toContain('out\n\x1b[91merr\n\x1b[0m');
});

test("a context with no Dockerfile is refused in dockerd's words alone", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ctr-api-build-none-'));
  await writeFile(join(dir, 'other'), 'x\n');
  const response = await request(t.socket, 'POST', '/build', execFileSync('tar', ['-c', '-C', dir, '.']), { 'Content-Type': 'application/x-tar' });
  await rm(dir, { recursive: true, force: true });
  expect(JSON.parse(response.body.toString())).toEqual({ message: 'Cannot locate specified Dockerfile: Dockerfile' });
});

test('a context whose only Dockerfile is a lower-case dockerfile builds, as dockerd reads it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ctr-api-build-lower-'));
  await writeFile(join(dir, 'dockerfile'), 'FROM busybox\nENV LOWER=1\n');
  const response = await request(t.socket, 'POST', '/build?q=1', execFileSync('tar', ['-c', '-C', dir, '.']), { 'Content-Type': 'application/x-tar' });
  await rm(dir, { recursive: true, force: true });
  const id = (JSON.parse(response.body.toString()) as { stream: string }).stream.trim();
  expect((await docker(t.env, ['image', 'inspect', '--format', '{{json .Config.Env}}', id])).stdout).toContain('"LOWER=1"');
});
