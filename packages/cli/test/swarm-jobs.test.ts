import { inTerminal } from '../../../test/support/terminal';
import { localSwarmCtr, runUntilPrinted, type LocalCtr } from './local-ctr';

/**
 * Job services end to end on a real root, daemonless: `service create` without `--detach`
 * waits on a job as docker's CLI does, ending with `job complete` once every task completed
 * (no `verify:` wait: what completed stays completed), and showing a failed task's error on
 * its slot's line while it goes on waiting.
 */
describe('ctr service create of a job, daemonless', () => {
  let ctr: LocalCtr;

  beforeAll(async () => {
    ctr = await localSwarmCtr('swarm-jobs');
  }, 120000);

  afterAll(async () => {
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

  test('off a terminal a replicated job prints docker\'s job lines: active tasks, an empty line per slot, no bars, then "job complete"', async () => {
    const created = await ctr.run('service', 'create', '--name', 'lines', '--mode', 'replicated-job', '--replicas', '2', '--max-concurrent', '1', '--no-resolve-image', 'busybox', 'true');
    expect(created.code).toBe(0);
    const progress = created.stdout.trimEnd().split('\n').slice(1);
    expect(progress.slice(0, 3)).toEqual(['active tasks: 0 out of 1 tasks', '1/2:  ', '2/2:  ']);
    expect(progress.slice(-2)).toEqual(['active tasks: 0 out of 0 tasks', 'job complete']);
    // How many looks caught a task running (or none, between the two) depends on timing.
    for (const line of progress.slice(3, -2)) expect(line).toMatch(/^active tasks: [01] out of 1 tasks$/);
  }, 120000);

  test('service ls shows a replicated job that completed 2 of 2 as docker\'s formatter does: 0/0 (2/2 completed)', async () => {
    const created = await ctr.run('service', 'create', '--name', 'counted', '--mode', 'replicated-job', '--replicas', '2', '--no-resolve-image', 'busybox', 'true');
    expect(created.code).toBe(0);
    const listed = await ctr.run('service', 'ls', '--filter', 'name=counted', '--format', '{{.Mode}}: {{.Replicas}}');
    expect(listed.stdout).toBe('replicated job: 0/0 (2/2 completed)\n');
  }, 120000);

  test('on a terminal a replicated job draws docker\'s job progress and each slot\'s state, through complete, with bars', async () => {
    const bar = (filled: number): string => `[${'='.repeat(filled)}>${' '.repeat(50 - filled)}] `;
    // A terminal wide enough for docker's bars (more than 110 columns).
    const argv = ['sh', '-c', 'stty cols 200 rows 50 && exec "$@"', 'sh', ...ctr.argv('service', 'create', '--name', 'drawn', '--mode', 'replicated-job', '--replicas', '2', '--no-resolve-image', 'busybox', 'true')];
    const terminal = inTerminal(argv, process.env);
    expect(await terminal.exited).toBe(0);
    const shown = terminal.output();
    expect(shown).toContain(`\x1b[2K\rjob progress: 0 out of 2 complete ${bar(0)}\r`);
    expect(shown).toContain('\x1b[2K\ractive tasks: 0 out of 2 tasks \r');
    expect(shown).toContain(`\x1b[2K\r1/2: complete  ${bar(50)}\r`);
    expect(shown).toContain(`\x1b[2K\r2/2: complete  ${bar(50)}\r`);
    expect(shown).toContain(`\x1b[2K\rjob progress: 2 out of 2 complete ${bar(50)}\r`);
    // The terminal turns each newline into CR LF.
    const end = '\x1b[2K\ractive tasks: 0 out of 0 tasks \r\x1b[3Bjob complete\r\n';
    expect(shown.slice(-end.length)).toBe(end);
  }, 120000);

  test('off a terminal a global job prints only "job complete": its count and task states all have bars', async () => {
    const created = await ctr.run('service', 'create', '--name', 'quiet', '--mode', 'global-job', '--no-resolve-image', 'busybox', 'true');
    expect(created.code).toBe(0);
    const progress = created.stdout.trimEnd().split('\n').slice(1);
    // A first look before the job had its task waits for it, as docker's does.
    expect(progress.filter((line) => line !== 'job progress: waiting for tasks')).toEqual(['job complete']);
  }, 120000);

  test('a job whose task fails shows the task\'s error on its slot\'s line and is not complete: the wait goes on until ^C', async () => {
    // Not restarted: the failure is the task's last word, as the job's.
    const { code, stdout, stderr } = await runUntilPrinted(ctr, '1/1: task: non-zero exit (1)\n', 'service', 'create', '--name', 'fails', '--mode', 'replicated-job', '--restart-condition', 'none', '--no-resolve-image', 'busybox', 'false');
    const [id, ...progress] = stdout.trimEnd().split('\n');
    expect(stderr).toBe('');
    expect(progress).toContain('1/1: task: non-zero exit (1)');
    expect(progress).not.toContain('job complete');
    expect(progress.slice(-2)).toEqual(['Operation continuing in background.', `Use \`ctr service ps ${id}\` to check progress.`]);
    expect(code).toBe(0);
    expect(await taskStates('fails')).toEqual(['fails.1 Failed']);
  }, 120000);
});
