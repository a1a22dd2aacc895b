/**
 * A detached exec (`docker exec -d`, the API's exec start with `Detach`) as dockerd 28 runs
 * it: the start answers once the process runs, and a program that cannot start is the start's
 * error (400, `OCI runtime exec failed: …`), its exit code (127 not found, 126 not runnable)
 * in the exec's inspect — for the real docker CLI and for `ctr -H` alike.
 */
import { join } from 'node:path';
import { runProcess } from '../../../test/support/run-process';
import { docker, json, request, useTestDaemon } from './fixture';

const t = useTestDaemon();
const CTR_BIN = join(__dirname, '..', '..', 'cli', 'bin', 'ctr');
const NOT_FOUND = 'OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuchprogram": executable file not found in $PATH: unknown';

let container: string;
beforeAll(async () => {
  const started = await docker(t.env, ['run', '-d', '--pull', 'never', '--network', 'none', 'busybox', 'sleep', '300']);
  expect(started.code).toBe(0);
  container = started.stdout.trim();
});

/** Creates an exec of `cmd` in the container through the API; gives its ID. */
async function createExec(cmd: string[]): Promise<string> {
  const created = await request(t.socket, 'POST', `/v1.47/containers/${container}/exec`, JSON.stringify({ Cmd: cmd }));
  expect(created.status).toBe(201);
  return (json(created) as { Id: string }).Id;
}

async function startDetached(id: string): Promise<{ status: number; body: unknown }> {
  const started = await request(t.socket, 'POST', `/v1.47/exec/${id}/start`, JSON.stringify({ Detach: true }));
  return { status: started.status, body: started.body.length > 0 ? json(started) : undefined };
}

async function inspectExec(id: string): Promise<{ Running: boolean; ExitCode: number | null }> {
  return json(await request(t.socket, 'GET', `/v1.47/exec/${id}/json`)) as { Running: boolean; ExitCode: number | null };
}

test("docker exec -d of a program that is not there fails with dockerd's message and exit status 1", async () => {
  expect(await docker(t.env, ['exec', '-d', container, 'nosuchprogram'])).toEqual({ code: 1, stdout: '', stderr: `Error response from daemon: ${NOT_FOUND}\n` });
});

test('ctr -H exec -d of a program that is not there fails as docker exec -d does', async () => {
  const result = await runProcess(CTR_BIN, ['-H', `unix://${t.socket}`, 'exec', '-d', container, 'nosuchprogram'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  expect(result).toEqual({ code: 1, stdout: '', stderr: `Error response from daemon: ${NOT_FOUND}\n` });
});

test('a detached exec start of a program that is not there is a 400, and its inspect shows exit code 127', async () => {
  const id = await createExec(['nosuchprogram']);
  expect(await startDetached(id)).toEqual({ status: 400, body: { message: NOT_FOUND } });
  expect(await inspectExec(id)).toMatchObject({ Running: false, ExitCode: 127 });
});

test('a detached exec start of a file that cannot be run is a 400, and its inspect shows exit code 126', async () => {
  const id = await createExec(['/etc/passwd']);
  const started = await startDetached(id);
  expect(started.status).toBe(400);
  expect(started.body).toEqual({ message: expect.stringMatching(/^OCI runtime exec failed: .*permission denied: unknown$/) });
  expect(await inspectExec(id)).toMatchObject({ Running: false, ExitCode: 126 });
});

test('a detached exec start of a program that runs answers 200 while it runs', async () => {
  const id = await createExec(['sleep', '300']);
  expect(await startDetached(id)).toEqual({ status: 200, body: undefined });
  expect(await inspectExec(id)).toMatchObject({ Running: true, ExitCode: null });
});

test('docker exec -d of a program that runs exits 0 at once', async () => {
  expect(await docker(t.env, ['exec', '-d', container, 'sleep', '300'])).toEqual({ code: 0, stdout: '', stderr: '' });
});
