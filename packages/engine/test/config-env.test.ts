/**
 * Inspect's `Config.Env` is dockerd's: the container's variables, then each of its image's it
 * leaves unset (moby's merge). What dockerd adds for the process alone — HOSTNAME, legacy
 * links' variables — is in the process's environment (an exec sees it), not in Config.Env.
 */
import type { CreateContainerOptions } from '@ctr/engine';
import { collector, testEngine, type TestEngine } from './fixture';

let t: TestEngine;

beforeAll(async () => {
  t = await testEngine();
  // busybox with variables of its own.
  const { id } = await t.engine.create({ image: 'busybox', network: 'none' });
  await t.engine.commit(id, { reference: 'env-image:1', config: { Env: ['PATH=/usr/bin:/bin', 'A=image', 'C=3'] } });
});

afterAll(async () => {
  await t?.cleanup();
});

/** A running container, `sleep` being its process. */
async function running(name: string, options: Partial<CreateContainerOptions> = {}): Promise<string> {
  return (await t.engine.run({ image: 'env-image:1', name, network: 'none', cmd: ['sleep', '300'], detach: true, ...options })).id;
}

/** What `env` prints in an exec in the container, one variable a line. */
async function processEnv(id: string): Promise<string[]> {
  const stdout = collector();
  await t.engine.exec(id, { cmd: ['env'], stdout });
  return stdout.text().split('\n').filter(Boolean);
}

test("Config.Env is the container's variables, then those of its image it leaves unset", async () => {
  const { id } = await t.engine.create({ image: 'env-image:1', network: 'none', env: ['A=mine', 'B=2'] });
  expect((await t.engine.inspect(id)).Config.Env).toEqual(['A=mine', 'B=2', 'PATH=/usr/bin:/bin', 'C=3']);
});

test("HOSTNAME is in the process's environment, not in Config.Env", async () => {
  const id = await running('env-hostname');
  expect(await processEnv(id)).toContain(`HOSTNAME=${id.slice(0, 12)}`);
  expect((await t.engine.inspect(id)).Config.Env).toEqual(['PATH=/usr/bin:/bin', 'A=image', 'C=3']);
});

test("a legacy link's variables are in the process's environment, not in Config.Env", async () => {
  await running('env-linked', { network: 'bridge' });
  const id = await running('env-linking', { network: 'bridge', links: ['env-linked:db'] });
  expect(await processEnv(id)).toContain('DB_NAME=/env-linking/db');
  expect(((await t.engine.inspect(id)).Config.Env ?? []).filter((entry) => entry.startsWith('DB_'))).toEqual([]);
});
