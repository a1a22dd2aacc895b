import { PassThrough } from 'node:stream';
import type { ConvergeProgress, ServiceMode } from '@ctr/swarm';
import { ConvergeView } from '../src/commands/swarm-output';

/**
 * A job's convergence as docker's CLI draws it (cli/command/service/progress: its
 * replicatedJobProgressUpdater and globalJobProgressUpdater, through DisplayJSONMessagesStream),
 * byte for byte, from the looks at the job its feeders give: on a terminal a line per message ID
 * redrawn in place, bars wider than 110 columns; elsewhere only the messages without a bar.
 */

const NODE_A = 'nodeaaaaaaaaaaaaaaaaaaaaa';
const NODE_B = 'nodebbbbbbbbbbbbbbbbbbbbb';

/** A terminal of `columns` (or, without, a pipe) and what was written to it. */
function screen(columns?: number): { out: PassThrough & { isTTY?: boolean; columns?: number }; written: () => string } {
  const out: PassThrough & { isTTY?: boolean; columns?: number } = columns === undefined ? new PassThrough() : Object.assign(new PassThrough(), { isTTY: true, columns });
  let written = '';
  out.on('data', (chunk: Buffer) => (written += chunk.toString()));
  return { out, written: () => written };
}

/** One look at the job: its slots' (a global job's nodes') tasks, as `slot:state` or `slot:state:error`. */
function look(desired: number, ...tasks: string[]): ConvergeProgress {
  const slots = tasks.map((spec) => {
    const [slot, state, ...error] = spec.split(':') as [string, ConvergeProgress['tasks'][number]['state'], ...string[]];
    const err = error.join(':');
    return { slot, state, message: state, ...(err ? { err } : {}) };
  });
  const complete = slots.filter((t) => t.state === 'complete').length;
  return { service: 'job', tasks: slots, running: complete, desired, converged: complete === desired };
}

/** docker's bar of `filled` out of 50 (HideCounts: no counts after it). */
const bar = (filled: number): string => `[${'='.repeat(filled)}>${' '.repeat(50 - filled)}] `;

/** What DisplayJSONMessagesStream writes on a terminal for a message on the line `up` lines above the cursor (a new line first when `opened`). */
const redraw = (up: number, text: string, opened = false): string => `${opened ? '\n' : ''}\x1b[${up}A\x1b[2K\r${text}\r\x1b[${up}B`;

const replicatedJob = (TotalCompletions: number, MaxConcurrent: number): ServiceMode => ({ ReplicatedJob: { TotalCompletions, MaxConcurrent } });
const globalJob: ServiceMode = { GlobalJob: {} };

describe('a replicated job off a terminal', () => {
  test('its first look prints active tasks out of the lesser of MaxConcurrent and the completions, and an empty line per slot', () => {
    const { out, written } = screen();
    new ConvergeView(out, 'job', replicatedJob(3, 2)).update(look(3));
    expect(written()).toBe('active tasks: 0 out of 2 tasks\n1/3:  \n2/3:  \n3/3:  \n');
  });

  test('prints a task\'s error on its slot\'s line but neither the job progress count nor task states, which have bars', () => {
    const { out, written } = screen();
    const view = new ConvergeView(out, 'job', replicatedJob(2, 2));
    view.update(look(2));
    view.update(look(2, '1:complete', '2:failed:task: non-zero exit (1)'));
    expect(written().split('\n').slice(3)).toEqual(['2/2: task: non-zero exit (1)', 'active tasks: 0 out of 1 tasks', '']);
  });

  test('prints a line again only when its text changed', () => {
    const { out, written } = screen();
    const view = new ConvergeView(out, 'job', replicatedJob(1, 1));
    view.update(look(1, '1:running'));
    view.update(look(1, '1:running'));
    view.update(look(1, '1:complete'));
    expect(written()).toBe('active tasks: 0 out of 1 tasks\n1/1:  \nactive tasks: 1 out of 1 tasks\nactive tasks: 0 out of 0 tasks\n');
  });

  test('ends with "job complete"', () => {
    const { out, written } = screen();
    const view = new ConvergeView(out, 'job', replicatedJob(1, 1));
    view.update(look(1, '1:complete'));
    view.jobComplete();
    expect(written().split('\n').slice(-2)).toEqual(['job complete', '']);
  });
});

describe('a replicated job on a terminal', () => {
  test('draws job progress, active tasks and a line per slot, then redraws each in place with its bar', () => {
    const { out, written } = screen(200);
    new ConvergeView(out, 'job', replicatedJob(1, 1)).update(look(1, '1:running'));
    expect(written()).toBe(
      redraw(1, `job progress: 0 out of 1 complete ${bar(0)}`, true) +
        redraw(1, 'active tasks: 0 out of 1 tasks ', true) +
        redraw(1, '1/1:   ', true) +
        redraw(1, `1/1: running   ${bar(45)}`) +
        redraw(3, `job progress: 0 out of 1 complete ${bar(0)}`) +
        redraw(2, 'active tasks: 1 out of 1 tasks '),
    );
  });

  test('shows a completed task as complete with a full bar, and the completions\' bar filled in proportion', () => {
    const { out, written } = screen(200);
    new ConvergeView(out, 'job', replicatedJob(3, 3)).update(look(3, '1:complete', '2:running', '3:preparing'));
    expect(written()).toContain(redraw(3, `1/3: complete  ${bar(50)}`));
    expect(written()).toContain(redraw(2, `2/3: running   ${bar(45)}`));
    expect(written()).toContain(redraw(1, `3/3: preparing ${bar(30)}`));
    expect(written()).toContain(redraw(5, `job progress: 1 out of 3 complete ${bar(16)}`));
    expect(written()).toContain(redraw(4, 'active tasks: 2 out of 2 tasks '));
  });

  test('pads the counts to the width of the completions (job progress) and of MaxConcurrent (active tasks)', () => {
    const { out, written } = screen(200);
    new ConvergeView(out, 'job', replicatedJob(12, 10)).update(look(12, '1:complete', '2:running'));
    expect(written()).toContain(`job progress:  1 out of 12 complete ${bar(4)}`);
    expect(written()).toContain('active tasks:  1 out of 10 tasks ');
  });

  test('numbers the slots from the lowest, as docker numbers swarmkit\'s slots 0…n-1 as 1…n', () => {
    const { out, written } = screen(200);
    new ConvergeView(out, 'job', replicatedJob(2, 2)).update(look(2, '0:complete', '1:starting'));
    expect(written()).toContain(redraw(2, `1/2: complete  ${bar(50)}`));
    expect(written()).toContain(redraw(1, `2/2: starting  ${bar(40)}`));
  });

  test('draws no bars 110 columns wide or less', () => {
    const { out, written } = screen(110);
    new ConvergeView(out, 'job', replicatedJob(1, 1)).update(look(1, '1:complete'));
    expect(written()).toContain(redraw(1, '1/1: complete  '));
    expect(written()).toContain(redraw(3, 'job progress: 1 out of 1 complete '));
  });

  test('of more than 20 completions draws only job progress and active tasks', () => {
    const { out, written } = screen(200);
    new ConvergeView(out, 'job', replicatedJob(21, 1)).update(look(21, '1:running'));
    expect(written()).toBe(
      redraw(1, `job progress:  0 out of 21 complete ${bar(0)}`, true) + redraw(1, 'active tasks: 0 out of 1 tasks ', true) + redraw(2, `job progress:  0 out of 21 complete ${bar(0)}`) + redraw(1, 'active tasks: 1 out of 1 tasks '),
    );
  });
});

describe('a global job', () => {
  test('waits for tasks before it counts any, off a terminal too', () => {
    const { out, written } = screen();
    new ConvergeView(out, 'job', globalJob).update(look(1));
    expect(written()).toBe('job progress: waiting for tasks\n');
  });

  test('off a terminal prints nothing more until "job complete": its count and task states all have bars', () => {
    const { out, written } = screen();
    const view = new ConvergeView(out, 'job', globalJob);
    view.update(look(1, `${NODE_A}:running`));
    view.update(look(1, `${NODE_A}:complete`));
    view.jobComplete();
    expect(written()).toBe('job complete\n');
  });

  test('on a terminal draws the count over the nodes it first had tasks on, and a line per node named by its full ID', () => {
    const { out, written } = screen(200);
    const view = new ConvergeView(out, 'job', globalJob);
    view.update(look(2, `${NODE_A}:complete`, `${NODE_B}:running`));
    expect(written()).toBe(
      redraw(1, `job progress: 0 out of 2 complete ${bar(0)}`, true) +
        redraw(1, `${NODE_A}: complete  ${bar(50)}`, true) +
        redraw(1, `${NODE_B}: running   ${bar(45)}`, true) +
        redraw(3, `job progress: 1 out of 2 complete ${bar(25)}`),
    );
  });

  test('neither shows nor counts a node that had no task at the first look', () => {
    const { out, written } = screen(200);
    const view = new ConvergeView(out, 'job', globalJob);
    view.update(look(1, `${NODE_A}:running`));
    view.update(look(2, `${NODE_A}:complete`, `${NODE_B}:complete`));
    expect(written()).not.toContain(NODE_B);
    expect(written()).toContain(`job progress: 1 out of 1 complete ${bar(50)}`);
  });

  test('shows a task\'s error, cut to 75 characters, on its node\'s line', () => {
    const { out, written } = screen();
    new ConvergeView(out, 'job', globalJob).update(look(1, `${NODE_A}:failed:${'x'.repeat(80)}`));
    expect(written()).toBe(`${NODE_A}: ${'x'.repeat(74)}…\n`);
  });
});
