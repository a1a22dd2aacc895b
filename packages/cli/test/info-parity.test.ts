/** `ctr info` prints what `docker info` (CLI 28.2) prints for the same engine. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker } from '../../api/test/fixture';
import { cleanEnv, ctr, startTestDaemon, type Result, type TestDaemon } from './remote-fixture';

let t: TestDaemon;
let work: string;

beforeAll(async () => {
  t = await startTestDaemon();
  work = await mkdtemp(join(tmpdir(), 'ctr-info-'));
});

afterAll(async () => {
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

afterEach(() => {
  expect(t.internalErrors.splice(0)).toEqual([]);
});

/** ctr with no context of the user's and docker's config of the test daemon's docker CLI. */
function run(args: string[]): Promise<Result> {
  return ctr(args, { env: cleanEnv({ CTR_CONFIG: join(work, 'config'), DOCKER_CONFIG: t.env.DOCKER_CONFIG }) });
}

/** The daemonless ctr on the daemon's root. */
function daemonless(...args: string[]): Promise<Result> {
  return run(['--root', t.root, '--runroot', t.runRoot, ...args]);
}

/** From `Server:` to the end: the Client section is each program's own. */
function serverSection(output: string): string {
  return output.slice(output.indexOf('Server:\n'));
}

test("the daemonless ctr info's Server section is docker info's, line for line", async () => {
  const [ours, theirs] = await Promise.all([daemonless('info'), docker(t.env, ['info'])]);
  expect(serverSection(ours.stdout)).toBe(serverSection(theirs.stdout));
});

test("ctr info's warnings are docker info's", async () => {
  const [ours, theirs] = await Promise.all([daemonless('info'), docker(t.env, ['info'])]);
  expect(ours.stderr).toBe(theirs.stderr);
});

test("ctr -H info's Server section is docker info's, from the daemon's JSON", async () => {
  const [ours, theirs] = await Promise.all([run(['-H', `unix://${t.socket}`, 'info']), docker(t.env, ['info'])]);
  expect(serverSection(ours.stdout)).toBe(serverSection(theirs.stdout));
});

test("ctr info's Client section names its version, the context and debug mode, then a blank line", async () => {
  expect((await daemonless('info')).stdout).toMatch(/^Client:\n Version: {4}\S+\n Context: {4}default\n Debug Mode: false\n\nServer:\n/);
});

test('ctr info --format runs the template on the whole document, as docker info does', async () => {
  const format = '{{.ID}} {{json .RegistryConfig}} {{.InitBinary}}';
  const [ours, theirs] = await Promise.all([daemonless('info', '--format', format), docker(t.env, ['info', '--format', format])]);
  expect(ours).toEqual({ code: 0, stdout: theirs.stdout, stderr: '' });
});

test("ctr -D info says the client's debug mode is on, as docker -D info does", async () => {
  expect((await daemonless('-D', 'info')).stdout).toMatch(/^Client:\n Version: {4}\S+\n Context: {4}default\n Debug Mode: true\n/);
});

test("ctr info --format's document has docker's ClientInfo, with its fields in docker's order, and ClientErrors and ServerErrors", async () => {
  const format = '{{json .ClientInfo}}|{{.ClientInfo.Context}} {{.ClientInfo.Debug}} {{.ClientErrors}} {{.ServerErrors}}';
  const [ours, theirs] = await Promise.all([daemonless('info', '--format', format), docker(t.env, ['info', '--format', format])]);
  const [ourJson = '', ourFields] = ours.stdout.split('|');
  const [theirJson = '', theirFields] = theirs.stdout.split('|');
  expect(ourFields).toBe(theirFields);
  expect(Object.keys(JSON.parse(ourJson))).toEqual(Object.keys(JSON.parse(theirJson)));
});

test("ctr info --format '{{json .}}' ends with ClientInfo and leaves out the empty error lists, as docker's", async () => {
  const [ours, theirs] = await Promise.all([daemonless('info', '--format', '{{json .}}'), docker(t.env, ['info', '--format', '{{json .}}'])]);
  const tail = (stdout: string): string[] => Object.keys(JSON.parse(stdout)).slice(-2);
  expect(tail(ours.stdout)).toEqual(tail(theirs.stdout));
  expect(tail(ours.stdout)).toEqual(['Warnings', 'ClientInfo']);
});
