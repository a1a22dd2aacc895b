import { spawn } from 'node:child_process';
import { killSwarmAgent, loopbackListenAddr } from '../../../test/support/swarm-agent';
import { localCtr, type LocalCtr } from './local-ctr';

/**
 * Job services end to end on a real root, daemonless: `service create` without `--detach`
 * waits on a job as docker's CLI does, ending with `job complete` once every task completed
 * (no `verify:` wait: what completed stays completed), and showing a failed task's error on
 * its slot's line while it goes on waiting.
 */
describe('ctr service create of a job, daemonless', () => {
  let ctr: LocalCtr;

  beforeAll(async () => {
    ctr = await localCtr('swarm-jobs');
    // Its own port on loopback: another test file's swarm may be listening beside it.
    const init = await ctr.run('swarm', 'init', '--listen-addr', await loopbackListenAddr(), '--advertise-addr', '127.0.0.1');
    if (init.code !== 0) throw new Error(`swarm init failed: ${init.stderr}`);
  }, 120000);

  afterAll(async () => {
    await ctr.run('swarm', 'leave', '--force');
    await killSwarmAgent(ctr.runRoot);
    await ctr.cleanup();
  }, 120000);

  /** The tasks of `service` as `service ps` lists them, each as its name and state (`web.1 Complete`), sorted. */
  async function taskStates(service: string): Promise<string[]> {
    const { stdout } = await ctr.run('service', 'ps', '--format', '{{.Name}} {{.CurrentState}}', service);
    return stdout.split('\n').filter(Boolean).map((line) => line.split(' ').slice(0, 2).join(' ')).sort();
  }

  test('a replicated job of 2 completions ends with "job complete" and exit 0 once both tasks completed', async () => {
    const created = await ctr.run('service', 'create', '--name', 'twice', '--mode', 'replicated-job', '--replicas', '2', '--no-resolve-image', 'busybox', 'true');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const [id, ...progress] = created.stdout.trimEnd().split('\n');
    expect(id).toMatch(/^[0-9a-z]{25}$/);
    expect(progress[progress.length - 1]).toBe('job complete');
    expect(progress.filter((line) => line.startsWith('verify:'))).toEqual([]);
    expect(await taskStates('twice')).toEqual(['twice.1 Complete', 'twice.2 Complete']);
  }, 120000);

  test('a global job ends with "job complete" and exit 0 once the task on every node completed', async () => {
    const created = await ctr.run('service', 'create', '--name', 'everywhere', '--mode', 'global-job', '--no-resolve-image', 'busybox', 'true');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout.trimEnd().split('\n').slice(-1)).toEqual(['job complete']);
    expect(await taskStates('everywhere')).toEqual([expect.stringMatching(/^everywhere\.[0-9a-z]{25} Complete$/)]);
  }, 120000);

  test('a job whose task fails shows the task\'s error on its slot\'s line and is not complete: the wait goes on until ^C', async () => {
    // Not restarted: the failure is the task's last word, as the job's.
    const [bin, ...args] = ctr.argv('service', 'create', '--name', 'fails', '--mode', 'replicated-job', '--restart-condition', 'none', '--no-resolve-image', 'busybox', 'false') as [string, ...string[]];
    const waiting = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    waiting.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    waiting.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!waiting.killed && stdout.includes('1/1: task: non-zero exit (1)\n')) waiting.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => waiting.once('close', resolve));
    const [id, ...progress] = stdout.trimEnd().split('\n');
    expect(stderr).toBe('');
    expect(progress).toContain('1/1: task: non-zero exit (1)');
    expect(progress).not.toContain('job complete');
    expect(progress.slice(-2)).toEqual(['Operation continuing in background.', `Use \`ctr service ps ${id}\` to check progress.`]);
    expect(code).toBe(0);
    expect(await taskStates('fails')).toEqual(['fails.1 Failed']);
  }, 120000);
});
