/**
 * Swarm times keep docker's form, trailing zeros trimmed (`…:11.12Z`), so their strings do not
 * sort as the times do: an update that began on such a time once counted its own new tasks as
 * older than itself and completed before they ran.
 */
import type { ClusterTx, ObjectKind } from '../src/context';
import { TaskWriter } from '../src/orchestrator';
import { byTime } from '../src/store';
import { newTask } from '../src/tasks';
import type { Service, Task } from '../src/types';
import { updateStep } from '../src/updater';

describe('swarm times in order', () => {
  it('orders a time with trimmed zeros before a later one with more digits', () => {
    expect(byTime('2026-11-24T09:10:11.12Z', '2026-11-24T09:10:11.123Z')).toBeLessThan(0);
  });

  it('orders a whole second before a later fraction of it', () => {
    expect(byTime('2026-11-24T09:10:11Z', '2026-11-24T09:10:11.005Z')).toBeLessThan(0);
  });

  it('finds the same instant equal however it is written', () => {
    expect(byTime('2026-11-24T09:10:11.1Z', '2026-11-24T09:10:11.100Z')).toBe(0);
  });
});

/** A transaction over objects in memory: what updateStep writes through a TaskWriter. */
function memoryTx(tasks: Task[]): ClusterTx {
  const unused = (): never => {
    throw new Error('not used by this test');
  };
  return {
    list: unused,
    get: unused,
    create: <K extends ObjectKind>(_kind: K, object: Omit<Task, 'Version' | 'CreatedAt' | 'UpdatedAt'>) => {
      const task = { ...object, Version: { Index: 1 }, CreatedAt: '2026-11-24T09:10:12Z', UpdatedAt: '2026-11-24T09:10:12Z' } as Task;
      tasks.push(task);
      return task;
    },
    update: (_kind, object) => object,
    delete: unused,
  } as ClusterTx;
}

describe('a rolling update that began on a time with trimmed zeros', () => {
  const startedAt = '2026-11-24T09:10:11.12Z';
  const service = (): Service =>
    ({
      ID: 'svc',
      Version: { Index: 2 },
      CreatedAt: '2026-11-24T09:00:00Z',
      UpdatedAt: startedAt,
      Spec: { Name: 'web', Labels: {}, Mode: { Replicated: { Replicas: 1 } }, TaskTemplate: { ContainerSpec: { Image: 'busybox', Env: ['V=2'] } }, UpdateConfig: { Parallelism: 1, Monitor: 1e9 } },
      Endpoint: { Spec: {} },
      UpdateStatus: { State: 'updating', Message: 'update in progress', StartedAt: startedAt },
    }) as Service;

  it('is not completed while its new task, made 3 ms later, is only assigned', () => {
    const svc = service();
    const old = { ...newTask({ ...svc, Spec: { ...svc.Spec, TaskTemplate: { ContainerSpec: { Image: 'busybox', Env: ['V=1'] } } } }, 'old', { slot: 1 }, 'shutdown'), Version: { Index: 1 }, CreatedAt: '2026-11-24T09:05:00Z', UpdatedAt: startedAt } as Task;
    old.Status = { ...old.Status, State: 'shutdown', Message: 'shutdown' };
    const fresh = { ...newTask(svc, 'new', { slot: 1 }, 'running'), Version: { Index: 1 }, CreatedAt: '2026-11-24T09:10:11.123Z', UpdatedAt: '2026-11-24T09:10:11.123Z' } as Task;
    fresh.Status = { ...fresh.Status, State: 'assigned', Message: 'scheduler assigned task to node' };
    const tasks = [old, fresh];
    const writer = new TaskWriter(memoryTx(tasks), tasks, new Map());
    updateStep(writer, svc, new Map([['1', tasks]]), Date.parse('2026-11-24T09:10:30Z'));
    expect(svc.UpdateStatus?.State).toBe('updating');
  });
});
