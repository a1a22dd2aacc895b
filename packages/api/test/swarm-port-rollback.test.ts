/**
 * A rollback whose published port another service took meanwhile, under ctrd and the real docker
 * CLI: swarmkit's allocator cannot give the service its port back and retries, the rollback
 * waiting for it; ctrd says so where its user looks — the rollback's status message says why
 * (`service inspect`, over the Engine API and through `ctr`), the task waiting for the port shows
 * it as its error (`service ps`), and the daemon's log has one error line for it, however many
 * passes retried. Once the other service is removed, the rollback completes by itself.
 */
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { daemonLog } from '@ctr/api';
import { freePort } from '../../../test/support/free-port';
import { runProcess } from '../../../test/support/run-process';
import { loopbackListenAddr } from '../../../test/support/swarm-agent';
import { docker, startTestDaemon, type TestDaemon } from './fixture';

const CTR = join(__dirname, '..', '..', 'cli', 'bin', 'ctr');

let t: TestDaemon;
/** The daemon's log lines at its default level (info). */
const logged: string[] = [];
let taken: number;
let moved: number;

async function ok(args: string[]): Promise<string> {
  const run = await docker(t.env, args, { timeoutMs: 90_000 });
  if (run.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${run.code}: ${run.stderr}${run.stdout}`);
  return run.stdout;
}

/** What `docker …` prints once `done` accepts it: the swarm gets there on its own. */
async function eventually(args: string[], done: (stdout: string) => boolean): Promise<string> {
  let last = '';
  for (let attempt = 0; attempt < 240; attempt++) {
    const run = await docker(t.env, args);
    last = `${run.stdout}${run.stderr}`;
    if (run.code === 0 && done(run.stdout)) return run.stdout;
    await delay(250);
  }
  throw new Error(`docker ${args.join(' ')} never printed what was expected; last: ${last}`);
}

const refusal = (): RegExp => new RegExp(`port '${taken}' is already in use by service 'taker' \\([0-9a-z]{25}\\) as an ingress port`);
/** The rollback's own message, then why it waits. */
const waiting = (): RegExp => new RegExp(`^update rolled back due to failure or early termination of task [0-9a-z]{25}; the service's published ports cannot be allocated: ${refusal().source}$`);

beforeAll(async () => {
  t = await startTestDaemon({ log: daemonLog((line) => logged.push(line), () => 'info') });
  [taken, moved] = [await freePort(), await freePort()];
  await ok(['swarm', 'init', '--listen-addr', await loopbackListenAddr(), '--advertise-addr', '127.0.0.1']);
  await ok(['service', 'create', '--name', 'giver', '--no-resolve-image', '-p', `${taken}:80`, '--update-failure-action', 'rollback', '--update-monitor', '30s', 'busybox:latest', 'sleep', '300']);
  // The update moves the port and its task fails a few seconds in: it is rolled back to the port it gave up.
  await ok(['service', 'update', '--detach', '--publish-rm', '80', '--publish-add', `${moved}:80`, '--args', 'sh -c "sleep 6; exit 1"', 'giver']);
  // Meanwhile another service takes the port (once the routing mesh let it go).
  await eventually(['service', 'create', '--detach', '--name', 'taker', '--no-resolve-image', '-p', `${taken}:80`, 'busybox:latest', 'sleep', '300'], () => true);
  await eventually(['service', 'inspect', 'giver', '--format', '{{.UpdateStatus.Message}}'], (o) => refusal().test(o));
}, 240_000);

afterAll(async () => {
  if (t) await docker(t.env, ['swarm', 'leave', '--force']).catch(() => undefined);
  await t?.cleanup();
}, 120_000);

test('the rollback waits, its UpdateStatus message saying which port and which service holds it (Engine API)', async () => {
  const status = JSON.parse(await ok(['service', 'inspect', 'giver', '--format', '{{json .UpdateStatus}}'])) as { State: string; Message: string };
  expect(status.State).toBe('rollback_started');
  expect(status.Message).toMatch(waiting());
});

test('ctr service inspect shows the same UpdateStatus', async () => {
  const run = await runProcess(CTR, ['-H', `unix://${t.socket}`, 'service', 'inspect', 'giver', '--format', '{{.UpdateStatus.State}}|{{.UpdateStatus.Message}}'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: t.root } });
  expect(run.stderr).toBe('');
  const [state, message] = run.stdout.trim().split('|');
  expect(state).toBe('rollback_started');
  expect(message).toMatch(waiting());
});

test('the task waiting for the port is not started, and shows why as its error (service ps)', async () => {
  // The slot's newest task first: the replacement of the update's failed task, held with the service.
  const [newest, ...older] = (await ok(['service', 'ps', 'giver', '--no-trunc', '--format', '{{.CurrentState}}|{{.Error}}'])).trim().split('\n');
  expect(newest).toMatch(/^New .*\|/);
  expect(newest).toMatch(refusal());
  expect(older.filter((row) => refusal().test(row))).toEqual([]);
});

test("the daemon's log has one error line for it, however many passes tried again", async () => {
  // Every pass tries the allocation again, another service's passes too: none adds a line while nothing changed.
  await ok(['service', 'create', '--name', 'bystander', '--no-resolve-image', 'busybox:latest', 'sleep', '300']);
  const lines = logged.filter((line) => line.includes('msg="failed allocation for service"'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^level=error msg="failed allocation for service" error="port '\d+' is already in use by service 'taker' \([0-9a-z]{25}\) as an ingress port" module=allocator service\.id=[0-9a-z]{25} service\.name=giver$/);
  expect(logged.filter((line) => line.startsWith('level=debug'))).toEqual([]);
});

test('once the other service is removed, the rollback completes by itself, its message the usual one', async () => {
  await ok(['service', 'rm', 'taker']);
  const status = JSON.parse(await eventually(['service', 'inspect', 'giver', '--format', '{{json .UpdateStatus}}'], (o) => !o.includes('"rollback_started"'))) as { State: string; Message: string };
  expect(status).toMatchObject({ State: 'rollback_completed', Message: 'rollback completed' });
  expect(await ok(['service', 'inspect', 'giver', '--format', '{{range .Endpoint.Ports}}{{.PublishedPort}}{{end}}'])).toBe(`${taken}\n`);
}, 180_000);
