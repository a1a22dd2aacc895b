import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

// Go's encoding/json escapes `<`, `>`, `&` unless told not to, and U+2028/2029 always. What docker's
// CLI prints depends on who wrote the JSON: the daemon (WriteJSON: no HTML escapes), its template
// `json` function (none either) or the CLI marshalling a value itself (json.Marshal: escaped).

let local: LocalCtr;
let config: string;
const ctr = (...args: string[]): Promise<CtrResult> => local.runWith({ env: { ...process.env, CTR_CONFIG: config } }, ...args);

beforeAll(async () => {
  local = await localCtr('fidelity-json');
  config = await mkdtemp(join(tmpdir(), 'ctr-fidelity-json-config-'));
  await ctr('create', '--name', 'esc', '--network', 'none', '--pull', 'never', '--label', 'a=<b>&c', 'busybox', 'sh', '-c', 'echo a > /f \u2028');
  await ctr('volume', 'create', '--label', 'a=<b>&c', 'esc-vol');
  await ctr('context', 'create', 'esc-ctx', '--description', 'a & b <c>', '--docker', 'host=unix:///tmp/fidelity-json.sock');
});
afterAll(async () => {
  await local?.cleanup();
  if (config) await rm(config, { recursive: true, force: true });
});

test("container inspect shows <, > and & as the daemon sent them, and U+2028 escaped as Go always does", async () => {
  const { stdout } = await ctr('inspect', 'esc');
  expect(stdout).toContain('"echo a > /f \\u2028"');
  expect(stdout).toContain('"a": "<b>&c"');
});

test('a template\'s json function escapes no HTML', async () => {
  expect(await ctr('inspect', '--format', '{{json .Config.Cmd}} {{json .Config.Labels}}', 'esc')).toMatchObject({ stdout: '["sh","-c","echo a > /f \\u2028"] {"a":"<b>&c"}\n' });
});

test('volume inspect escapes HTML, as docker\'s CLI marshals a volume itself', async () => {
  expect((await ctr('volume', 'inspect', 'esc-vol')).stdout).toContain('"a": "\\u003cb\\u003e\\u0026c"');
  expect((await ctr('volume', 'inspect', '--format', 'json', 'esc-vol')).stdout).toContain('"Labels":{"a":"\\u003cb\\u003e\\u0026c"}');
});

test('context inspect escapes HTML, in the indented form and in --format json', async () => {
  expect((await ctr('context', 'inspect', 'esc-ctx')).stdout).toContain('"Description": "a \\u0026 b \\u003cc\\u003e"');
  expect((await ctr('context', 'inspect', '--format', 'json', 'esc-ctx')).stdout).toMatch(/^\[\{"Name":"esc-ctx","Metadata":\{"Description":"a \\u0026 b \\u003cc\\u003e"\},/);
});

test("context ls's {{json .}} is docker's formatter context: keys sorted, HTML escaped", async () => {
  const { stdout } = await ctr('context', 'ls', '--format', '{{json .}}');
  expect(stdout).toContain('{"Current":false,"Description":"a \\u0026 b \\u003cc\\u003e","DockerEndpoint":"unix:///tmp/fidelity-json.sock","Error":"","Name":"esc-ctx"}\n');
});
