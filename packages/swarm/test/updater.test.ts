import { freePort } from '../../../test/support/free-port';
import { createService, updateService } from '../src/services';
import { byTime } from '../src/store';
import { converge } from '../src/updater';
import type { ConvergeProgress, PortConfig, ServiceSpec } from '../src/types';
import { answerOn, ms, sharedSwarm, spec, tasksOf } from './swarm-fixture';

const s = sharedSwarm();

const sleeper = (name: string, env: string, update: Partial<NonNullable<ServiceSpec['UpdateConfig']>> = {}): ServiceSpec =>
  spec(name, ['sleep', '300'], { Mode: { Replicated: { Replicas: 2 } }, UpdateConfig: { Parallelism: 1, Monitor: ms(100), ...update } }, { Env: [env] });

async function update(id: string, next: ServiceSpec, options: { rollback?: 'previous' } = {}): Promise<ConvergeProgress> {
  const service = await s.swarm.inspectService(id);
  await updateService(s.ctx, id, service.Version.Index, next, options);
  return converge(s.ctx, id, {});
}

const startedAt = async (containerId: string): Promise<number> => Date.parse((await s.t.engine.inspect(containerId)).State.StartedAt);
const finishedAt = async (containerId: string): Promise<number> => Date.parse((await s.t.engine.inspect(containerId)).State.FinishedAt);

describe('rolling update', () => {
  it('replaces the slots one at a time, stopping each old task before its new one starts, and completes', async () => {
    const { ID } = await createService(s.ctx, sleeper('rolling', 'V=1'));
    await converge(s.ctx, ID, {});
    const progress = await update(ID, sleeper('rolling', 'V=2'));
    expect(progress.converged).toBe(true);
    const service = await s.swarm.inspectService(ID);
    expect(service.UpdateStatus).toMatchObject({ State: 'completed', Message: 'update completed' });
    expect(service.PreviousSpec?.TaskTemplate.ContainerSpec?.Env).toEqual(['V=1']);
    const tasks = await tasksOf(s.ctx, ID);
    const fresh = tasks.filter((t) => t.Spec.ContainerSpec?.Env?.[0] === 'V=2').sort((a, b) => byTime(a.CreatedAt, b.CreatedAt));
    const old = tasks.filter((t) => t.Spec.ContainerSpec?.Env?.[0] === 'V=1');
    expect(fresh.map((t) => [t.Slot, t.Status.State])).toEqual([
      [1, 'running'],
      [2, 'running'],
    ]);
    expect(old.map((t) => [t.Status.State, t.DesiredState])).toEqual([
      ['shutdown', 'shutdown'],
      ['shutdown', 'shutdown'],
    ]);
    // Parallelism 1: slot 2's new task came only once slot 1's ran.
    expect(Date.parse(fresh[1]!.CreatedAt)).toBeGreaterThanOrEqual(await startedAt(fresh[0]!.Status.ContainerStatus!.ContainerID));
    // stop-first: each old container had stopped before its slot's new one started.
    for (const slot of [1, 2]) {
      const before = old.find((t) => t.Slot === slot)!;
      const after = fresh.find((t) => t.Slot === slot)!;
      expect(await finishedAt(before.Status.ContainerStatus!.ContainerID)).toBeLessThanOrEqual(await startedAt(after.Status.ContainerStatus!.ContainerID));
    }
  });

  it('start-first runs the new task before stopping the old one', async () => {
    const { ID } = await createService(s.ctx, sleeper('startfirst', 'V=1', { Order: 'start-first' }));
    await converge(s.ctx, ID, {});
    await update(ID, sleeper('startfirst', 'V=2', { Order: 'start-first' }));
    const tasks = await tasksOf(s.ctx, ID);
    for (const slot of [1, 2]) {
      const before = tasks.find((t) => t.Slot === slot && t.Spec.ContainerSpec?.Env?.[0] === 'V=1')!;
      const after = tasks.find((t) => t.Slot === slot && t.Spec.ContainerSpec?.Env?.[0] === 'V=2')!;
      expect(await startedAt(after.Status.ContainerStatus!.ContainerID)).toBeLessThanOrEqual(await finishedAt(before.Status.ContainerStatus!.ContainerID));
    }
  });

  it('pauses on a new task that fails within Monitor, naming it', async () => {
    const { ID } = await createService(s.ctx, sleeper('pauses', 'V=1'));
    await converge(s.ctx, ID, {});
    const failing = spec('pauses', ['sh', '-c', 'exit 1'], { Mode: { Replicated: { Replicas: 2 } }, UpdateConfig: { Parallelism: 1, Monitor: ms(2000) } });
    const progress = await update(ID, failing);
    const service = await s.swarm.inspectService(ID);
    expect(service.UpdateStatus?.State).toBe('paused');
    const failed = (await tasksOf(s.ctx, ID)).find((t) => t.Status.State === 'failed')!;
    expect(service.UpdateStatus?.Message).toBe(`update paused due to failure or early termination of task ${failed.ID}`);
    expect(progress.converged).toBe(false);
    // Slot 2 was not touched: its old task still runs.
    expect((await tasksOf(s.ctx, ID)).filter((t) => t.Slot === 2).map((t) => [t.Spec.ContainerSpec?.Env?.[0], t.Status.State])).toEqual([['V=1', 'running']]);
  });

  it('rolls back to the previous spec when FailureAction is rollback', async () => {
    const { ID } = await createService(s.ctx, sleeper('rollsback', 'V=1'));
    await converge(s.ctx, ID, {});
    const failing = spec('rollsback', ['sh', '-c', 'exit 1'], { Mode: { Replicated: { Replicas: 2 } }, UpdateConfig: { Parallelism: 1, Monitor: ms(2000), FailureAction: 'rollback' }, RollbackConfig: { Parallelism: 0, Monitor: ms(100) } });
    const progress = await update(ID, failing);
    expect(progress.converged).toBe(true);
    const service = await s.swarm.inspectService(ID);
    expect(service.UpdateStatus).toMatchObject({ State: 'rollback_completed', Message: 'rollback completed' });
    expect(service.Spec.TaskTemplate.ContainerSpec?.Env).toEqual(['V=1']);
    expect((await tasksOf(s.ctx, ID)).filter((t) => t.Status.State === 'running').map((t) => t.Spec.ContainerSpec?.Env)).toEqual([['V=1'], ['V=1']]);
  });

  it('service rollback goes back to the previous spec ("manually requested rollback")', async () => {
    const { ID } = await createService(s.ctx, sleeper('manual', 'V=1'));
    await converge(s.ctx, ID, {});
    await update(ID, sleeper('manual', 'V=2'));
    const service = await s.swarm.inspectService(ID);
    await updateService(s.ctx, ID, service.Version.Index, service.Spec, { rollback: 'previous' });
    expect((await s.swarm.inspectService(ID)).UpdateStatus).toMatchObject({ State: 'rollback_started', Message: 'manually requested rollback' });
    await converge(s.ctx, ID, {});
    const after = await s.swarm.inspectService(ID);
    expect(after.UpdateStatus).toMatchObject({ State: 'rollback_completed', Message: 'rollback completed' });
    expect(after.Spec.TaskTemplate.ContainerSpec?.Env).toEqual(['V=1']);
    expect(after.PreviousSpec?.TaskTemplate.ContainerSpec?.Env).toEqual(['V=2']);
  });

  it('--force (a ForceUpdate bump) replaces tasks of an unchanged spec', async () => {
    const { ID } = await createService(s.ctx, sleeper('forced', 'V=1'));
    await converge(s.ctx, ID, {});
    const before = (await tasksOf(s.ctx, ID)).map((t) => t.ID);
    const service = await s.swarm.inspectService(ID);
    await update(ID, { ...service.Spec, TaskTemplate: { ...service.Spec.TaskTemplate, ForceUpdate: 1 } });
    const running = (await tasksOf(s.ctx, ID)).filter((t) => t.Status.State === 'running');
    expect(running).toHaveLength(2);
    expect(running.some((t) => before.includes(t.ID))).toBe(false);
  });
});

describe('an endpoint change (swarmkit\'s IsTaskDirty compares the tasks\' endpoint too)', () => {
  const answering = (name: string, ports: PortConfig[] = []): ServiceSpec =>
    spec(name, ['nc', '-ll', '-p', '80', '-e', 'echo', name], { UpdateConfig: { Parallelism: 1, Monitor: ms(100) }, ...(ports.length > 0 ? { EndpointSpec: { Ports: ports } } : {}) });

  it('a host-mode port added by an update replaces the tasks, and the new task\'s container publishes it', async () => {
    const { ID } = await createService(s.ctx, answering('hostport'));
    await converge(s.ctx, ID, {});
    const before = (await tasksOf(s.ctx, ID)).map((t) => t.ID);
    const port = await freePort();
    const progress = await update(ID, answering('hostport', [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: port, PublishMode: 'host' }]));
    expect(progress.converged).toBe(true);
    expect((await s.swarm.inspectService(ID)).UpdateStatus).toMatchObject({ State: 'completed' });
    const running = (await tasksOf(s.ctx, ID)).filter((t) => t.Status.State === 'running');
    expect(running).toHaveLength(1);
    expect(before).not.toContain(running[0]!.ID);
    expect(await answerOn(port)).toBe('hostport');
  });

  it('a routing-mesh port changed by an update replaces the tasks too', async () => {
    const { ID } = await createService(s.ctx, answering('meshport', [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: await freePort() }]));
    await converge(s.ctx, ID, {});
    const before = (await tasksOf(s.ctx, ID)).map((t) => t.ID);
    await update(ID, answering('meshport', [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: await freePort() }]));
    const running = (await tasksOf(s.ctx, ID)).filter((t) => t.Status.State === 'running');
    expect(running).toHaveLength(1);
    expect(before).not.toContain(running[0]!.ID);
  });

  it('the same endpoint in other words (vip, tcp and ingress spelled out) replaces nothing', async () => {
    const { ID } = await createService(s.ctx, answering('samewords', [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: await freePort() }]));
    await converge(s.ctx, ID, {});
    const before = (await tasksOf(s.ctx, ID)).map((t) => t.ID);
    const service = await s.swarm.inspectService(ID);
    const ports = (service.Spec.EndpointSpec?.Ports ?? []).map((p) => ({ ...p, PublishMode: 'ingress' as const }));
    await update(ID, { ...service.Spec, EndpointSpec: { Mode: 'vip', Ports: ports } });
    expect((await tasksOf(s.ctx, ID)).map((t) => t.ID)).toEqual(before);
  });

  it('the API\'s tasks do not show the endpoint a task was made with (docker\'s Task has no such field)', async () => {
    const [task] = await s.swarm.tasks({ service: ['samewords'] });
    expect(task).toBeDefined();
    expect(task).not.toHaveProperty('Endpoint');
    expect(await s.swarm.inspectTask(task!.ID)).not.toHaveProperty('Endpoint');
  });
});
