import { shouldRestart } from '../src/restart';
import type { Task, TaskState } from '../src/types';

let n = 0;
/** A task of slot 1 made at `created` (ms), ended in `state` at `endedAt`. */
function task(created: number, state: TaskState, policy: Task['Spec']['RestartPolicy'] = {}, endedAt = created + 10): Task {
  n++;
  return {
    ID: `t${n}`,
    Version: { Index: n },
    CreatedAt: new Date(created).toISOString(),
    UpdatedAt: new Date(endedAt).toISOString(),
    Spec: { ContainerSpec: { Image: 'busybox' }, RestartPolicy: policy },
    ServiceID: 's',
    Slot: 1,
    NodeID: 'n',
    Status: { Timestamp: new Date(endedAt).toISOString(), State: state, Message: '' },
    DesiredState: 'running',
  };
}

describe('shouldRestart (swarmkit restart supervisor)', () => {
  it('restarts any ended task under the default condition', () => {
    const t = task(0, 'complete');
    expect(shouldRestart(t, [t], false)).toBe(true);
  });

  it('does not restart a clean exit under on-failure, nor a job task that completed', () => {
    const clean = task(0, 'complete', { Condition: 'on-failure' });
    expect(shouldRestart(clean, [clean], false)).toBe(false);
    const done = task(0, 'complete');
    expect(shouldRestart(done, [done], true)).toBe(false);
  });

  it('never restarts under none', () => {
    const t = task(0, 'failed', { Condition: 'none' });
    expect(shouldRestart(t, [t], false)).toBe(false);
  });

  it('counts the slot’s restarts of the same spec against MaxAttempts', () => {
    const policy = { MaxAttempts: 2 };
    const slot = [task(0, 'failed', policy), task(100, 'failed', policy)];
    expect(shouldRestart(slot[1]!, slot, false)).toBe(true);
    slot.push(task(200, 'failed', policy));
    expect(shouldRestart(slot[2]!, slot, false)).toBe(false);
  });

  it('starts the count afresh for a new spec', () => {
    const slot = [task(0, 'failed', { MaxAttempts: 1 }), task(100, 'failed', { MaxAttempts: 1 })];
    const changed = task(200, 'failed', { MaxAttempts: 1, Delay: 1 });
    expect(shouldRestart(changed, [...slot, changed], false)).toBe(true);
  });

  it('counts only the restarts within Window before the task ended', () => {
    const policy = { MaxAttempts: 1, Window: 1_000_000_000 };
    const slot = [task(0, 'failed', policy), task(100, 'failed', policy), task(5_000, 'failed', policy, 5_100)];
    // The restart at 100 ms is outside the second before 5.1 s; the one at 5 s is inside.
    expect(shouldRestart(slot[2]!, slot, false)).toBe(false);
    expect(shouldRestart(slot[1]!, slot.slice(0, 2), false)).toBe(false);
    // A task that ran 2.9 s: its own restart at 100 ms fell out of the window, so it may restart again.
    const spread = [task(0, 'failed', policy), task(100, 'failed', policy, 3_000)];
    expect(shouldRestart(spread[1]!, spread, false)).toBe(true);
  });
});
