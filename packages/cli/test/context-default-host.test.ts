import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, ctr as run, type Result } from './remote-fixture';

// The `default` context `context ls` lists is where commands go without another context:
// docker shows the daemon `-H` or DOCKER_HOST names there, as ctr does (and CTR_HOST, its own).

let config: string;

function ctr(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Result> {
  return run(args, { env: cleanEnv({ CTR_CONFIG: config, ...extra }) });
}

const defaultRow = async (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<string> =>
  (await ctr([...args, 'context', 'ls', '--format', '{{.Name}}|{{.Current}}|{{.Description}}|{{.DockerEndpoint}}'], extra)).stdout
    .split('\n')
    .find((line) => line.startsWith('default|')) ?? '';

beforeAll(async () => {
  config = await mkdtemp(join(tmpdir(), 'ctr-context-default-host-'));
});
afterAll(async () => {
  await rm(config, { recursive: true, force: true });
});

test('with -H, default is the daemon -H names, described as docker describes it', async () => {
  expect(await defaultRow(['-H', 'unix:///tmp/ctr-none.sock'])).toBe('default|true|Current DOCKER_HOST based configuration|unix:///tmp/ctr-none.sock');
});

test('with DOCKER_HOST, default names DOCKER_HOST, not CTR_HOST', async () => {
  expect(await defaultRow([], { DOCKER_HOST: 'unix:///tmp/ctr-docker.sock' })).toBe('default|true|Current DOCKER_HOST based configuration|unix:///tmp/ctr-docker.sock');
});

test('with CTR_HOST, default names CTR_HOST', async () => {
  expect(await defaultRow([], { CTR_HOST: 'unix:///tmp/ctr-ctr.sock' })).toBe('default|true|Current CTR_HOST based configuration|unix:///tmp/ctr-ctr.sock');
});

test('with none of them, default is the engine in-process, with no endpoint', async () => {
  expect(await defaultRow([])).toBe('default|true|The engine in-process (no daemon)|');
});
