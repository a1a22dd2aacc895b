import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { loopbackListenAddr, processRunning, swarmAgentPid } from '../../../test/support/swarm-agent';
import { eventually, localSwarmCtr, runUntilPrinted, type LocalCtr } from './local-ctr';

/**
 * The swarm verbs end to end on a real root, daemonless: a swarm made, a service's tasks run as
 * containers, scaled, updated task by task, its logs, secrets and configs in its tasks, a task
 * whose container dies replaced through conmon's exit command (`ctr container cleanup`), and
 * the swarm left again.
 */
describe('ctr swarm mode, daemonless', () => {
  let ctr: LocalCtr;
  /** A task that ends at once on SIGTERM (sh as PID 1 ignores it otherwise, and waits out the grace period). */
  const loop = 'trap "exit 0" TERM; echo hello from $(hostname); while true; do sleep 1; done';

  /** The service's running tasks, as `service ps` lists them: NAME per line. */
  async function runningTasks(service: string): Promise<string[]> {
    const { stdout } = await ctr.run('service', 'ps', '--filter', 'desired-state=running', '--format', '{{.Name}} {{.CurrentState}}', service);
    return stdout.split('\n').filter((line) => / Running /.test(line)).map((line) => line.split(' ')[0] as string);
  }

  beforeAll(async () => {
    ctr = await localSwarmCtr('swarm-e2e');
  }, 120000);

  afterAll(async () => {
    await ctr.cleanup();
  }, 120000);

  test('swarm init made this node a manager, which node ls and info show', async () => {
    const nodes = await ctr.run('node', 'ls', '--format', '{{.Self}} {{.Status}} {{.ManagerStatus}}');
    expect(nodes.stdout).toBe('true Ready Leader\n');
    const info = await ctr.run('info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}');
    expect(info.stdout).toBe('active true\n');
  });

  test('service create runs its replicas as containers and waits until they converge', async () => {
    const created = await ctr.run('service', 'create', '--name', 'web', '--replicas', '2', '--stop-grace-period', '2s', '--update-monitor', '1s', 'busybox', 'sh', '-c', loop);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const [id, ...progress] = created.stdout.trimEnd().split('\n');
    expect(id).toMatch(/^[0-9a-z]{25}$/);
    expect(progress[0]).toBe('overall progress: 0 out of 2 tasks');
    expect(progress).toContain('overall progress: 2 out of 2 tasks');
    expect(progress[progress.length - 2]).toBe('verify: Waiting 1 seconds to verify that tasks are stable...');
    expect(progress[progress.length - 1]).toBe(`verify: Service ${id} converged`);
    const ls = await ctr.run('service', 'ls', '--format', '{{.Name}} {{.Mode}} {{.Replicas}} {{.Image}}');
    expect(ls.stdout).toBe('web replicated 2/2 busybox\n');
    expect((await runningTasks('web')).sort()).toEqual(['web.1', 'web.2']);
    const containers = await ctr.run('ps', '--filter', 'label=com.docker.swarm.service.name=web', '--format', '{{.Names}}');
    expect(containers.stdout.split('\n').filter(Boolean)).toHaveLength(2);
  }, 120000);

  test('service scale adds a replica', async () => {
    const scaled = await ctr.run('service', 'scale', 'web=3');
    expect(scaled.code).toBe(0);
    expect(scaled.stdout.split('\n')[0]).toBe('web scaled to 3');
    expect((await runningTasks('web')).sort()).toEqual(['web.1', 'web.2', 'web.3']);
  }, 120000);

  test('service update --env-add replaces every task with one that has the variable, the old ones kept as history', async () => {
    const updated = await ctr.run('service', 'update', '--env-add', 'COLOR=blue', 'web');
    expect(updated.code).toBe(0);
    expect(updated.stdout.split('\n')[0]).toBe('web');
    const inspect = await ctr.run('service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Env}} {{.UpdateStatus.State}}', 'web');
    expect(inspect.stdout).toBe('["COLOR=blue"] completed\n');
    const running = await ctr.run('ps', '--filter', 'label=com.docker.swarm.service.name=web', '-q');
    const ids = running.stdout.split('\n').filter(Boolean);
    expect(ids).toHaveLength(3);
    for (const id of ids) expect((await ctr.run('exec', id, 'sh', '-c', 'echo $COLOR')).stdout).toBe('blue\n');
    const history = await ctr.run('service', 'ps', 'web');
    expect(history.stdout.match(/\\_ web\.\d/g)).toHaveLength(3);
  }, 180000);

  test('service logs prefix each task\'s lines with its name, ID and node', async () => {
    const logs = await ctr.run('service', 'logs', 'web');
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/^web\.1\.[0-9a-z]{12}@\S+ {4}\| hello from \S+$/m);
    const raw = await ctr.run('service', 'logs', '--raw', 'web');
    expect(raw.stdout.split('\n').filter(Boolean).every((line) => line.startsWith('hello from '))).toBe(true);
  });

  test('a task whose container dies is replaced in its slot, through conmon\'s exit command', async () => {
    const { stdout } = await ctr.run('ps', '--filter', 'name=web.2.', '-q');
    const victim = stdout.trim();
    expect(victim).not.toBe('');
    await ctr.run('kill', victim);
    const replaced = await eventually(async () => {
      const ps = await ctr.run('service', 'ps', '--format', '{{.Name}}|{{.DesiredState}}|{{.CurrentState}}|{{.Error}}', 'web');
      const lines = ps.stdout.split('\n');
      return lines.some((l) => /^web\.2\|Running\|Running /.test(l)) && lines.some((l) => /^web\.2\|Shutdown\|Failed .*"task: non-zero exit \(137\)"$/.test(l));
    });
    expect(replaced).toBe(true);
  }, 60000);

  test('a service whose task fails while it is verified is not reported converged: the wait goes on until ^C', async () => {
    const { code, stdout, stderr } = await runUntilPrinted(ctr, 'verify: Detected task failure', 'service', 'create', '--name', 'flaky', '--update-monitor', '60s', '--restart-condition', 'none', 'busybox', 'sh', '-c', 'sleep 3; exit 1');
    const [id, ...progress] = stdout.trimEnd().split('\n');
    expect(stderr).toBe('');
    expect(progress).toContain('verify: Waiting 60 seconds to verify that tasks are stable...');
    expect(progress).toContain('1/1: task: non-zero exit (1)');
    expect(progress.filter((line) => line.startsWith('verify: ')).slice(-1)).toEqual(['verify: Detected task failure']);
    expect(progress.slice(-2)).toEqual(['Operation continuing in background.', `Use \`ctr service ps ${id}\` to check progress.`]);
    expect(code).toBe(0);
    expect((await ctr.run('service', 'rm', 'flaky')).code).toBe(0);
  }, 120000);

  test('a secret and a config reach a service\'s tasks as files', async () => {
    const file = join(ctr.root, 'app.conf');
    await writeFile(file, 'greeting=hi\n');
    const secret = await ctr.runWith({ env: process.env, input: 's3cret' }, 'secret', 'create', 'pw', '-');
    expect(secret.code).toBe(0);
    expect((await ctr.run('config', 'create', 'app', file)).code).toBe(0);
    expect((await ctr.run('secret', 'ls', '--format', '{{.Name}}')).stdout).toBe('pw\n');
    expect((await ctr.run('config', 'ls', '--format', '{{.Name}}')).stdout).toBe('app\n');
    const created = await ctr.run('service', 'create', '--name', 'files', '--update-monitor', '1s', '--secret', 'pw', '--config', 'source=app,target=/etc/app.conf', 'busybox', 'sh', '-c', loop);
    expect(created.code).toBe(0);
    const { stdout } = await ctr.run('ps', '--filter', 'label=com.docker.swarm.service.name=files', '-q');
    const id = stdout.trim();
    expect((await ctr.run('exec', id, 'cat', '/run/secrets/pw')).stdout).toBe('s3cret');
    expect((await ctr.run('exec', id, 'cat', '/etc/app.conf')).stdout).toBe('greeting=hi\n');
    expect((await ctr.run('service', 'rm', 'files')).stdout).toBe('files\n');
  }, 120000);

  test('network rm of an overlay network a service uses is refused in swarmkit\'s words, and removes it once the service is gone', async () => {
    expect((await ctr.run('network', 'create', '-d', 'overlay', 'backend')).code).toBe(0);
    const network = (await ctr.run('network', 'inspect', '--format', '{{.Id}}', 'backend')).stdout.trim();
    const service = (await ctr.run('service', 'create', '--detach', '--replicas', '0', '--network', 'backend', '--name', 'netuser', 'busybox', 'true')).stdout.trim();
    const refused = await ctr.run('network', 'rm', 'backend');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`Error response from daemon: rpc error: code = FailedPrecondition desc = network ${network} is in use by service ${service}`);
    expect((await ctr.run('service', 'rm', 'netuser')).code).toBe(0);
    expect((await ctr.run('network', 'rm', 'backend')).stdout).toBe('backend\n');
  }, 60000);

  test('service rm takes the service\'s containers away', async () => {
    const removed = await ctr.run('service', 'rm', 'web');
    expect(removed.code).toBe(0);
    expect(removed.stdout).toBe('web\n');
    expect((await ctr.run('service', 'ls', '-q')).stdout).toBe('');
    const left = await eventually(async () => (await ctr.run('ps', '-a', '--filter', 'label=com.docker.swarm.service.name=web', '-q')).stdout === '');
    expect(left).toBe(true);
  }, 60000);

  test('swarm leave refuses a manager without --force', async () => {
    const refused = await ctr.run('swarm', 'leave');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Use `--force` to ignore this message.');
    expect((await ctr.run('info', '--format', '{{.Swarm.LocalNodeState}}')).stdout).toBe('active\n');
  });

  test('swarm leave --force leaves the swarm and stops the node agent that init started', async () => {
    const agent = swarmAgentPid(ctr.runRoot);
    if (agent === undefined) throw new Error('no node agent runs for the swarm');
    const left = await ctr.run('swarm', 'leave', '--force');
    expect(left.stdout).toBe('Node left the swarm.\n');
    const info = await ctr.run('info', '--format', '{{.Swarm.LocalNodeState}}');
    expect(info.stdout).toBe('inactive\n');
    expect(swarmAgentPid(ctr.runRoot)).toBeUndefined();
    // The pid file goes as the agent ends: its exit follows a moment later.
    expect(await eventually(async () => !processRunning(agent))).toBe(true);
  }, 60000);

  test('swarm init whose cluster port is taken fails and leaves no swarm and no agent behind', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = taken.address() as AddressInfo;
      const init = await ctr.run('swarm', 'init', '--listen-addr', `127.0.0.1:${port}`, '--advertise-addr', '127.0.0.1');
      expect([init.code, init.stderr]).toEqual([1, expect.stringContaining('EADDRINUSE') as unknown]);
      expect((await ctr.run('info', '--format', '{{.Swarm.LocalNodeState}}')).stdout).toBe('inactive\n');
      expect(swarmAgentPid(ctr.runRoot)).toBeUndefined();
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  }, 60000);

  test("swarm leave --force with a service running takes its task containers away for good: their exit hooks make none again", async () => {
    const init = await ctr.run('swarm', 'init', '--listen-addr', await loopbackListenAddr(), '--advertise-addr', '127.0.0.1');
    expect(init.code).toBe(0);
    expect((await ctr.run('service', 'create', '--name', 'left', '--replicas', '2', '--update-monitor', '1s', 'busybox', 'sh', '-c', loop)).code).toBe(0);
    expect((await ctr.run('swarm', 'leave', '--force')).code).toBe(0);
    // The removed containers' cleanups (conmon's exit commands) run after the leave returns.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await ctr.run('ps', '-a', '-q', '--filter', 'label=com.docker.swarm.task.id')).stdout).toBe('');
  }, 120000);
});
