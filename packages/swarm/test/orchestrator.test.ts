import { containerExited, reconcileOnce, startMonitor } from '../src/orchestrator';
import { createService, removeService, updateService } from '../src/services';
import { converge } from '../src/updater';
import { ms, sharedSwarm, spec, tasksOf } from './swarm-fixture';

const s = sharedSwarm();

describe('restart policy', () => {
  it('replaces a failed task with a new one in the same slot, after the restart delay, up to MaxAttempts', async () => {
    const { ID } = await createService(s.ctx, spec('fails', ['sh', '-c', 'exit 3'], { TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Command: ['sh', '-c', 'exit 3'] }, RestartPolicy: { Condition: 'on-failure', Delay: ms(200), MaxAttempts: 2 } } }));
    // converge may return while the last replacement runs for its moment: see each task's exit observed.
    let tasks = await tasksOf(s.ctx, ID);
    for (let pass = 0; pass < 5 && (tasks.length < 3 || tasks.some((t) => t.Status.State !== 'failed')); pass++) {
      await converge(s.ctx, ID, {});
      for (const t of await tasksOf(s.ctx, ID)) if (t.Status.ContainerStatus?.ContainerID) await s.t.engine.wait(t.Status.ContainerStatus.ContainerID);
      await converge(s.ctx, ID, {});
      tasks = await tasksOf(s.ctx, ID);
    }
    expect(tasks.map((t) => [t.Slot, t.Status.State, t.Status.Err, t.DesiredState])).toEqual([
      [1, 'failed', 'task: non-zero exit (3)', 'shutdown'],
      [1, 'failed', 'task: non-zero exit (3)', 'shutdown'],
      [1, 'failed', 'task: non-zero exit (3)', 'shutdown'],
    ]);
    // Each replacement was made when its predecessor failed and started no sooner than its delay after.
    for (const [before, after] of [[tasks[0], tasks[1]], [tasks[1], tasks[2]]]) {
      expect(Date.parse(after!.CreatedAt)).toBeGreaterThanOrEqual(Date.parse(before!.Status.Timestamp) - 5);
      const started = Date.parse((await s.t.engine.inspect(after!.Status.ContainerStatus!.ContainerID)).State.StartedAt);
      expect(started).toBeGreaterThanOrEqual(Date.parse(after!.CreatedAt) + 200);
    }
    await removeService(s.ctx, ID);
  });

  it('does not restart a task that exited cleanly under on-failure', async () => {
    const { ID } = await createService(s.ctx, spec('once', ['true'], { TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Command: ['true'] }, RestartPolicy: { Condition: 'on-failure', Delay: ms(100) } } }));
    await converge(s.ctx, ID, {});
    expect((await tasksOf(s.ctx, ID)).map((t) => [t.Status.State, t.Status.Message])).toEqual([['complete', 'finished']]);
    await removeService(s.ctx, ID);
  });

  it('does not restart a failed task under condition none', async () => {
    const { ID } = await createService(s.ctx, spec('never', ['false'], { TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Command: ['false'] }, RestartPolicy: { Condition: 'none' } } }));
    await converge(s.ctx, ID, {});
    expect((await tasksOf(s.ctx, ID)).map((t) => t.Status.State)).toEqual(['failed']);
    await removeService(s.ctx, ID);
  });

  it('restarts from the exited container’s cleanup alone (daemonless), waiting out the delay', async () => {
    const { ID } = await createService(s.ctx, spec('cleanup', ['sh', '-c', 'exit 1'], { TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Command: ['sh', '-c', 'exit 1'] }, RestartPolicy: { Condition: 'any', Delay: ms(100), MaxAttempts: 1 } } }));
    const [first] = await tasksOf(s.ctx, ID);
    const container = first!.Status.ContainerStatus!.ContainerID;
    await s.t.engine.wait(container);
    await containerExited(s.ctx, container);
    const tasks = await tasksOf(s.ctx, ID);
    expect(tasks).toHaveLength(2);
    expect(tasks[1]!.Slot).toBe(1);
    expect(tasks[1]!.Status.ContainerStatus?.ContainerID).toBeDefined();
    expect(tasks[1]!.DesiredState).not.toBe('ready');
    await removeService(s.ctx, ID);
  });

  it('keeps TaskHistoryRetentionLimit tasks per slot, removing older ones and their containers', async () => {
    const swarm = await s.swarm.inspect();
    await s.swarm.update(swarm.Version.Index, { ...swarm.Spec, Orchestration: { TaskHistoryRetentionLimit: 2 } });
    try {
      const { ID } = await createService(s.ctx, spec('history', ['false'], { TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Command: ['false'] }, RestartPolicy: { Condition: 'any', Delay: ms(50) } } }));
      const seen = new Set<string>();
      while (seen.size < 4) {
        await reconcileOnce(s.ctx, ID);
        for (const t of await tasksOf(s.ctx, ID)) seen.add(t.ID);
        await new Promise((r) => setTimeout(r, 50));
      }
      await reconcileOnce(s.ctx, ID);
      const kept = await tasksOf(s.ctx, ID);
      expect(kept).toHaveLength(2);
      expect(kept.every((t) => t.Slot === 1)).toBe(true);
      const containers = await s.t.engine.ps({ all: true, filters: { label: [`com.docker.swarm.service.id=${ID}`] } });
      expect(containers.map((c) => c.Id).sort()).toEqual(kept.map((t) => t.Status.ContainerStatus?.ContainerID).filter(Boolean).sort());
      await removeService(s.ctx, ID);
    } finally {
      const now = await s.swarm.inspect();
      await s.swarm.update(now.Version.Index, { ...now.Spec, Orchestration: { TaskHistoryRetentionLimit: 5 } });
    }
  });
});

describe('scaling and modes', () => {
  it('scales down by removing the highest slots, and a scale is no update', async () => {
    const { ID } = await createService(s.ctx, spec('scale', ['sleep', '300'], { Mode: { Replicated: { Replicas: 3 } } }));
    await converge(s.ctx, ID, {});
    const service = await s.swarm.inspectService(ID);
    await updateService(s.ctx, ID, service.Version.Index, { ...service.Spec, Mode: { Replicated: { Replicas: 1 } } });
    const progress = await converge(s.ctx, ID, {});
    expect(progress.converged).toBe(true);
    const tasks = await tasksOf(s.ctx, ID);
    expect(tasks.map((t) => [t.Slot, t.Status.State])).toEqual([[1, 'running']]);
    expect((await s.t.engine.ps({ all: true, filters: { label: [`com.docker.swarm.service.id=${ID}`] } })).map((c) => c.Names[0]?.split('.')[1])).toEqual(['1']);
    expect((await s.swarm.inspectService(ID)).UpdateStatus).toBeUndefined();
    await removeService(s.ctx, ID);
  });

  it('runs one task of a global service on the node, named for the node', async () => {
    const { ID } = await createService(s.ctx, spec('everywhere', ['sleep', '300'], { Mode: { Global: {} } }));
    await converge(s.ctx, ID, {});
    const [node] = await s.swarm.nodes();
    const tasks = await tasksOf(s.ctx, ID);
    expect(tasks.map((t) => [t.NodeID, t.Slot, t.Status.State])).toEqual([[node!.ID, undefined, 'running']]);
    expect((await s.t.engine.inspect(tasks[0]!.Status.ContainerStatus!.ContainerID)).Name).toBe(`/everywhere.${node!.ID}.${tasks[0]!.ID}`);
    await removeService(s.ctx, ID);
  });

  it('runs a replicated job to its total completions, MaxConcurrent at a time', async () => {
    const { ID } = await createService(s.ctx, spec('batch', ['true'], { Mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 3 } } }));
    const progress = await converge(s.ctx, ID, {});
    expect(progress).toMatchObject({ running: 3, desired: 3, converged: true });
    const tasks = await tasksOf(s.ctx, ID);
    expect(tasks.map((t) => [t.Slot, t.Status.State, t.DesiredState])).toEqual([
      [1, 'complete', 'complete'],
      [2, 'complete', 'complete'],
      [3, 'complete', 'complete'],
    ]);
    await reconcileOnce(s.ctx, ID);
    expect(await tasksOf(s.ctx, ID)).toHaveLength(3);
    await removeService(s.ctx, ID);
  });

  it('never makes a slot twice when two passes run at once', async () => {
    const { ID } = await createService(s.ctx, spec('twice', ['sleep', '300'], { Mode: { Replicated: { Replicas: 0 } } }));
    const service = await s.swarm.inspectService(ID);
    await s.ctx.store.transaction((tx) => {
      tx.update('services', { ...service, Spec: { ...service.Spec, Mode: { Replicated: { Replicas: 2 } } } });
    });
    await Promise.all([reconcileOnce(s.ctx, ID), reconcileOnce(s.ctx, ID)]);
    await converge(s.ctx, ID, {});
    expect((await tasksOf(s.ctx, ID)).map((t) => [t.Slot, t.Status.State])).toEqual([
      [1, 'running'],
      [2, 'running'],
    ]);
    expect(await s.t.engine.ps({ all: true, filters: { label: [`com.docker.swarm.service.id=${ID}`] } })).toHaveLength(2);
    await removeService(s.ctx, ID);
  });
});

describe('containers the store lost track of', () => {
  it("a pass removes a task container whose task the store no longer has, and fills the slot again", async () => {
    const { ID } = await createService(s.ctx, spec('forgotten', ['sleep', '300']));
    await converge(s.ctx, ID, {});
    const [lost] = await tasksOf(s.ctx, ID);
    await s.ctx.store.transaction((tx) => tx.delete('tasks', lost!.ID));
    await converge(s.ctx, ID, {});
    const containers = await s.t.engine.ps({ all: true, filters: { label: [`com.docker.swarm.service.id=${ID}`] } });
    const [replacement] = await tasksOf(s.ctx, ID);
    expect(containers.map((c) => c.Id)).toEqual([replacement!.Status.ContainerStatus!.ContainerID]);
    expect(containers.map((c) => c.Id)).not.toContain(lost!.Status.ContainerStatus!.ContainerID);
    await removeService(s.ctx, ID);
  });

  it('service rm removes every container of the service, one whose task was forgotten too', async () => {
    const { ID } = await createService(s.ctx, spec('leftover', ['sleep', '300'], { Mode: { Replicated: { Replicas: 2 } } }));
    await converge(s.ctx, ID, {});
    const [lost] = await tasksOf(s.ctx, ID);
    await s.ctx.store.transaction((tx) => tx.delete('tasks', lost!.ID));
    await removeService(s.ctx, ID);
    expect(await s.t.engine.ps({ all: true, filters: { label: [`com.docker.swarm.service.id=${ID}`] } })).toEqual([]);
  });
});

describe('node availability', () => {
  it('drain shuts the node’s tasks down and leaves their replacements pending; active runs them again', async () => {
    const { ID } = await createService(s.ctx, spec('drained', ['sleep', '300']));
    await converge(s.ctx, ID, {});
    const [node] = await s.swarm.nodes();
    await s.swarm.updateNode(node!.ID, node!.Version.Index, { ...node!.Spec, Availability: 'drain' });
    await reconcileOnce(s.ctx, ID);
    let tasks = await tasksOf(s.ctx, ID);
    expect(tasks.map((t) => [t.Status.State, t.DesiredState, t.Status.Err])).toEqual([
      ['shutdown', 'shutdown', undefined],
      ['pending', 'running', 'no suitable node (1 node not available for new tasks)'],
    ]);
    const drained = await s.swarm.inspectNode(node!.ID);
    await s.swarm.updateNode(node!.ID, drained.Version.Index, { ...drained.Spec, Availability: 'active' });
    await converge(s.ctx, ID, {});
    tasks = await tasksOf(s.ctx, ID);
    expect(tasks.map((t) => t.Status.State)).toEqual(['shutdown', 'running']);
    await removeService(s.ctx, ID);
  });
});

describe('the monitor (ctrd)', () => {
  it('replaces a task whose container died, from the engine’s die event alone', async () => {
    await s.t.engine.startMonitor();
    const stop = new AbortController();
    try {
      await startMonitor(s.ctx, stop.signal);
      const { ID } = await createService(s.ctx, spec('watched', ['sleep', '300']));
      await converge(s.ctx, ID, {});
      const [first] = await tasksOf(s.ctx, ID);
      await s.t.engine.kill(first!.Status.ContainerStatus!.ContainerID, 'KILL');
      let tasks = await tasksOf(s.ctx, ID);
      for (let i = 0; i < 100 && !(tasks.length === 2 && tasks[1]!.Status.State === 'running'); i++) {
        await new Promise((r) => setTimeout(r, 100));
        tasks = await tasksOf(s.ctx, ID);
      }
      expect(tasks.map((t) => [t.Slot, t.Status.State, t.Status.Err])).toEqual([
        [1, 'failed', 'task: non-zero exit (137)'],
        [1, 'running', undefined],
      ]);
      await removeService(s.ctx, ID);
    } finally {
      stop.abort();
    }
  });

  it('tells what a pass failed on instead of dropping it', async () => {
    const failures: unknown[] = [];
    const stop = new AbortController();
    const { ID } = await createService(s.ctx, spec('unreadable', ['sleep', '300']));
    const list = s.ctx.engine.ps.bind(s.ctx.engine);
    s.ctx.engine.ps = () => Promise.reject(new Error('the engine could not list its containers'));
    try {
      await startMonitor(s.ctx, stop.signal, (error) => failures.push(error));
      for (let i = 0; i < 100 && failures.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(failures.map((e) => (e as Error).message)).toContain('the engine could not list its containers');
    } finally {
      stop.abort();
      s.ctx.engine.ps = list;
      await removeService(s.ctx, ID);
    }
  });
});
