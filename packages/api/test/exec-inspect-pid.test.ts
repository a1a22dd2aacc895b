import { readFileSync } from 'node:fs';
import { docker, json, request, useTestDaemon } from './fixture';

// `GET /exec/{id}/json`'s Pid as dockerd 28 gives it (ContainerExecInspect): the exec's process
// on the host while it runs, 0 once it has exited.

const t = useTestDaemon();

let container: string;
beforeAll(async () => {
  const started = await docker(t.env, ['run', '-d', '--pull', 'never', '--network', 'none', 'busybox', 'sleep', '300']);
  expect(started.code).toBe(0);
  container = started.stdout.trim();
});

async function startedExec(cmd: string[]): Promise<string> {
  const created = await request(t.socket, 'POST', `/v1.47/containers/${container}/exec`, JSON.stringify({ Cmd: cmd }));
  const { Id } = json(created) as { Id: string };
  expect((await request(t.socket, 'POST', `/v1.47/exec/${Id}/start`, JSON.stringify({ Detach: true }))).status).toBe(200);
  return Id;
}

async function inspectExec(id: string): Promise<{ Running: boolean; Pid: number }> {
  return json(await request(t.socket, 'GET', `/v1.47/exec/${id}/json`)) as { Running: boolean; Pid: number };
}

test("a running exec's Pid is its process on the host", async () => {
  const { Running, Pid } = await inspectExec(await startedExec(['sleep', '300']));
  expect(Running).toBe(true);
  expect(readFileSync(`/proc/${Pid}/cmdline`, 'utf8').split('\0')).toEqual(['sleep', '300', '']);
});

test("an exited exec's Pid is 0", async () => {
  const id = await startedExec(['true']);
  for (let i = 0; i < 100 && (await inspectExec(id)).Running; i++) await new Promise((r) => setTimeout(r, 50));
  expect(await inspectExec(id)).toMatchObject({ Running: false, Pid: 0 });
});
