import net from 'node:net';
import { testEngine, type TestEngine } from '../../engine/test/fixture';
import type { SwarmContext } from '../src/context';
import { byTime } from '../src/store';
import { Swarm } from '../src/swarm';
import type { ContainerSpec, ServiceSpec, Task } from '../src/types';

/** A swarm of one node on a throwaway engine root (busybox imported); `cleanup` leaves it and removes the root. */
export interface TestSwarm {
  t: TestEngine;
  swarm: Swarm;
  ctx: SwarmContext;
  cleanup(): Promise<void>;
}

export async function testSwarm(): Promise<TestSwarm> {
  const t = await testEngine();
  const swarm = new Swarm({ engine: t.engine });
  await swarm.init({ AdvertiseAddr: '127.0.0.1' });
  return {
    t,
    swarm,
    ctx: swarm.context(),
    async cleanup() {
      await swarm.leave(true).catch(() => undefined);
      // The engine's background work (a monitor a test started, file deletions) ends before its root goes.
      await t.engine.close();
      await t.cleanup();
    },
  };
}

/**
 * Registers the calling file's hooks: one swarm for all its tests (made before them, left and
 * removed after), and a minute per test (real containers). The fields are filled in beforeAll.
 */
export function sharedSwarm(): TestSwarm {
  const made = {} as TestSwarm;
  beforeAll(async () => {
    Object.assign(made, await testSwarm());
  }, 60_000);
  afterAll(async () => made.cleanup?.());
  jest.setTimeout(60_000);
  return made;
}

/** A service spec of busybox running `command` (killed at once on stop: busybox as PID 1 ignores SIGTERM). */
export function spec(name: string, command: string[], extra: Partial<ServiceSpec> = {}, container: Partial<ContainerSpec> = {}): ServiceSpec {
  return {
    Name: name,
    Labels: {},
    TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Command: command, StopSignal: 'SIGKILL', ...container }, RestartPolicy: { Condition: 'any', Delay: 100_000_000 } },
    Mode: { Replicated: { Replicas: 1 } },
    ...extra,
  };
}

/** Milliseconds as Go durations (nanoseconds). */
export const ms = (n: number): number => n * 1_000_000;

/** A service's tasks, oldest first. */
export async function tasksOf(ctx: SwarmContext, serviceId: string): Promise<Task[]> {
  return (await ctx.store.list('tasks')).filter((t) => t.ServiceID === serviceId).sort((a, b) => byTime(a.CreatedAt, b.CreatedAt) || (a.Slot ?? 0) - (b.Slot ?? 0));
}

/** What one connection to 127.0.0.1:`port` reads until the other side ends it (a task's `nc -e echo` answer). */
export function answerOn(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const conn = net.connect({ host: '127.0.0.1', port });
    conn.on('data', (d: Buffer) => (text += d.toString()));
    conn.on('end', () => resolve(text.trim()));
    conn.on('error', reject);
  });
}
