import type { Node, Service, Task, TaskState } from '@ctr/swarm';
import { convergeProgress } from '@ctr/api';

/**
 * A job's convergence over the Engine API (`ctr -H … service create --mode replicated-job`):
 * the task each slot (a global job's, each node) shows as docker's job progress picks it — of
 * the job's current run only, the least advanced, on any node — and its completions counted.
 */

const META = { Version: { Index: 3 }, CreatedAt: '2024-01-01T00:00:00.000000000Z', UpdatedAt: '2024-01-01T00:00:00.000000000Z' };
const UP = 'n0000000000000000000000001';
const DOWN = 'n0000000000000000000000002';

function node(id: string, state: 'ready' | 'down'): Node {
  return { ...META, ID: id, Spec: { Labels: {}, Role: 'manager', Availability: 'active' }, Status: { State: state, Addr: '127.0.0.1' } } as unknown as Node;
}
const NODES = [node(UP, 'ready'), node(DOWN, 'down')];

/** A job in its run `iteration`. */
function job(mode: Service['Spec']['Mode'], iteration: number): Service {
  return {
    ...META,
    ID: 'j1',
    Spec: { Name: 'job', Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox' } }, Mode: mode },
    Endpoint: { Spec: {} },
    JobStatus: { JobIteration: { Index: iteration } },
  };
}

/** A task of the job's run `iteration`, in `slot` (0: a global job's, named by its node). */
function task(id: string, iteration: number, slot: number, state: TaskState, nodeId = UP, err?: string): Task {
  return {
    ...META,
    ID: id,
    Spec: {},
    ServiceID: 'j1',
    ...(slot > 0 ? { Slot: slot } : {}),
    NodeID: nodeId,
    Status: { Timestamp: META.CreatedAt, State: state, Message: state, ...(err ? { Err: err } : {}) },
    DesiredState: 'complete',
    JobIteration: { Index: iteration },
  };
}

const REPLICATED = { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 2 } };

describe('convergence of a job over the API', () => {
  test("a replicated job's slot shows its least advanced task: a failed task's replacement", () => {
    const tasks = [task('failed', 1, 1, 'failed', UP, 'task: non-zero exit (1)'), task('again', 1, 1, 'running')];
    expect(convergeProgress(job(REPLICATED, 1), tasks, NODES).tasks).toEqual([{ slot: '1', state: 'running', message: 'running' }]);
  });

  test("a replicated job's tasks of an earlier run are neither shown nor counted", () => {
    const progress = convergeProgress(job(REPLICATED, 1), [task('old1', 0, 1, 'complete'), task('old2', 0, 2, 'complete'), task('new1', 1, 1, 'complete')], NODES);
    expect(progress.tasks).toEqual([{ slot: '1', state: 'complete', message: 'complete' }]);
    expect(progress.running).toBe(1);
    expect(progress.converged).toBe(false);
  });

  test("a replicated job's task on a node that is down still shows, as docker's job progress shows it", () => {
    expect(convergeProgress(job(REPLICATED, 0), [task('t1', 0, 1, 'complete', DOWN)], NODES).tasks).toEqual([{ slot: '1', state: 'complete', message: 'complete' }]);
  });

  test("a replicated job's slots come in their numbers' order, from swarmkit's 0", () => {
    const tasks = [task('t10', 0, 10, 'running'), task('t2', 0, 2, 'running'), { ...task('t0', 0, 1, 'complete'), Slot: 0 }];
    expect(convergeProgress(job({ ReplicatedJob: { MaxConcurrent: 11, TotalCompletions: 11 } }, 0), tasks, NODES).tasks.map((t) => t.slot)).toEqual(['0', '2', '10']);
  });

  test("a global job's node shows its least advanced task of the current run, with the task's error", () => {
    const tasks = [task('old', 0, 0, 'complete'), task('failed', 1, 0, 'failed', UP, 'task: non-zero exit (1)'), task('rejected', 1, 0, 'rejected', UP, 'no such image')];
    expect(convergeProgress(job({ GlobalJob: {} }, 1), tasks, NODES).tasks).toEqual([{ slot: UP, state: 'failed', message: 'failed', err: 'task: non-zero exit (1)' }]);
  });

  test('a job converges once its current run completed every completion wanted', () => {
    const progress = convergeProgress(job(REPLICATED, 0), [task('t1', 0, 1, 'complete'), task('t2', 0, 2, 'complete')], NODES);
    expect(progress).toMatchObject({ running: 2, desired: 2, converged: true });
  });
});
