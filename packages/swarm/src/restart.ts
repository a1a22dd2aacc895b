import { byTime } from './store';
import { canonical, ended } from './tasks';
import type { RestartPolicy, Task } from './types';

/** swarmkit's defaults.Service.Task.Restart.Delay. */
export const DEFAULT_RESTART_DELAY_NS = 5_000_000_000;

/**
 * The task's restart condition. A job's task runs to completion: `any` restarts it only when it
 * failed, as swarmkit's jobs orchestrator does (a finished job task is done).
 */
export function restartCondition(task: Task, job: boolean): NonNullable<RestartPolicy['Condition']> {
  const condition = task.Spec.RestartPolicy?.Condition ?? 'any';
  return job && condition === 'any' ? 'on-failure' : condition;
}

/** How long the replacement of `task` waits before it starts, in milliseconds. */
export function restartDelayMs(task: Task): number {
  return (task.Spec.RestartPolicy?.Delay ?? DEFAULT_RESTART_DELAY_NS) / 1e6;
}

/**
 * The tasks of a slot that history must keep for `shouldRestart` to count restarts: with
 * MaxAttempts, the attempts it counts (and the first task), beyond the cluster's retention limit.
 */
export function historyNeeded(task: Task): number {
  const max = task.Spec.RestartPolicy?.MaxAttempts ?? 0;
  return max > 0 ? max + 1 : 0;
}

/**
 * swarmkit's restart supervisor's ShouldRestart for an ended task: its condition (`none`
 * never, `on-failure` not after a clean exit), then MaxAttempts — the restarts already made in
 * its slot from the same spec (a spec change starts the count afresh), within Window before the
 * task ended when one is set. swarmkit counts in the manager's memory; here the slot's task
 * history is the record, so every process on the root counts the same.
 */
export function shouldRestart(task: Task, slotTasks: readonly Task[], job: boolean): boolean {
  if (!ended(task)) return false;
  const condition = restartCondition(task, job);
  if (condition === 'none' || (condition === 'on-failure' && task.Status.State === 'complete')) return false;
  const max = task.Spec.RestartPolicy?.MaxAttempts ?? 0;
  if (max === 0) return true;
  const spec = canonical(task.Spec);
  const sameSpec = slotTasks.filter((t) => canonical(t.Spec) === spec).sort((a, b) => byTime(a.CreatedAt, b.CreatedAt));
  // The first task of this spec in the slot was no restart; each later one was.
  let restarts = sameSpec.slice(1);
  const windowNs = task.Spec.RestartPolicy?.Window ?? 0;
  if (windowNs > 0) {
    const endedAt = Date.parse(task.Status.Timestamp);
    const lookback = endedAt - windowNs / 1e6;
    restarts = restarts.filter((t) => Date.parse(t.CreatedAt) > lookback && Date.parse(t.CreatedAt) <= endedAt);
  }
  return restarts.length < max;
}
