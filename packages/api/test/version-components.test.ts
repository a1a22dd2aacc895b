/** `GET /version` lists the programs ctr runs containers with after the engine, as dockerd lists containerd, runc and docker-init. */
import { docker, json, request, startTestDaemon, type TestDaemon } from './fixture';

let t: TestDaemon;
beforeAll(async () => {
  t = await startTestDaemon();
});
afterAll(async () => {
  await t?.cleanup();
});

test('Components are the engine, then conmon, runc and docker-init, each with a version and its GitCommit', async () => {
  const reply = json(await request(t.socket, 'GET', '/version')) as { Components: Array<{ Name: string; Version: string; Details: Record<string, string> }> };
  expect(reply.Components.map((c) => c.Name)).toEqual(['Engine', 'conmon', 'runc', 'docker-init']);
  for (const component of reply.Components.slice(1)) {
    expect(component.Version).not.toBe('');
    expect(Object.keys(component.Details)).toEqual(['GitCommit']);
  }
});

test("the engine's Details come in the order dockerd writes a map's keys", async () => {
  const reply = json(await request(t.socket, 'GET', '/version')) as { Components: Array<{ Details: Record<string, string> }> };
  const keys = Object.keys(reply.Components[0]?.Details ?? {});
  expect(keys).toEqual([...keys].sort());
});

test('docker version prints each component', async () => {
  const run = await docker(t.env, ['version', '--format', '{{range .Server.Components}}{{.Name}}={{.Version}} {{end}}']);
  expect(run.stderr).toBe('');
  expect(run.stdout.trim()).toMatch(/^Engine=0\.1\.0 conmon=\S+ runc=\S+ docker-init=\S+$/);
});
