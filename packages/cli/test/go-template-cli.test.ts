/** Go templates through the built `ctr`, as docker users write them for inspect and ps. */
import { localCtr, type LocalCtr } from './local-ctr';

let ctr: LocalCtr;
beforeAll(async () => {
  ctr = await localCtr('go-template');
  const created = await ctr.run('create', '--name', 'templated', '--label', 'zeta=1', '--label', 'alpha=2', '--network', 'none', 'busybox');
  if (created.code !== 0) throw new Error(`ctr create failed: ${created.stderr}`);
}, 60_000);
afterAll(async () => {
  await ctr?.cleanup();
});

test("inspect -f ranges over a container's labels in key order", async () => {
  const result = await ctr.run('inspect', '-f', '{{range $k, $v := .Config.Labels}}{{$k}}={{$v}} {{end}}', 'templated');
  expect(result).toEqual({ code: 0, stdout: 'alpha=2 zeta=1 \n', stderr: '' });
});

test('inspect -f chooses with if/else and counts with len', async () => {
  const result = await ctr.run('inspect', '-f', '{{if .State.Running}}up{{else}}{{.State.Status}}{{end}} {{len .Mounts}}', 'templated');
  expect(result).toEqual({ code: 0, stdout: 'created 0\n', stderr: '' });
});

test('image inspect -f indexes the repo tags', async () => {
  expect(await ctr.run('image', 'inspect', '-f', '{{index .RepoTags 0}}', 'busybox')).toEqual({ code: 0, stdout: 'busybox:latest\n', stderr: '' });
});

test('ps --format pipes a field into printf', async () => {
  const result = await ctr.run('ps', '-a', '--filter', 'name=templated', '--format', '{{.Names}}\\t{{.Status | printf "%.7s"}}');
  expect(result).toEqual({ code: 0, stdout: 'templated\tCreated\n', stderr: '' });
});

test("inspect's template calling a function that does not exist fails as docker's does: its words, exit status 64", async () => {
  expect(await ctr.run('inspect', '-f', '{{nope .Name}}', 'templated')).toEqual({ code: 64, stdout: '', stderr: 'template parsing error: template: :1: function "nope" not defined\n' });
});

test("version -f names docker's Go fields: .Server.APIVersion, .Client.Context", async () => {
  const result = await ctr.run('version', '-f', '{{.Server.APIVersion}} {{.Client.APIVersion}} {{.Client.Context}}');
  expect(result).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+ \d+\.\d+ default\n$/) });
});

test("version -f of a field docker's types.Version lacks (its JSON name ApiVersion) is Go's template error", async () => {
  const result = await ctr.run('version', '-f', '{{.Server.ApiVersion}}');
  expect(result.code).toBe(1);
  expect(result.stderr).toContain("can't evaluate field ApiVersion in type *types.Version");
});

test('version -f json writes the JSON names, in the structs\' order', async () => {
  const { Client, Server } = JSON.parse((await ctr.run('version', '-f', 'json')).stdout) as { Client: Record<string, unknown>; Server: Record<string, unknown> };
  expect(Object.keys(Client).slice(0, 2)).toEqual(['Version', 'ApiVersion']);
  expect(Object.keys(Server).slice(0, 4)).toEqual(['Platform', 'Components', 'Version', 'ApiVersion']);
});
