import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '@ctr/engine';
import { NetworkManager } from '@ctr/network';
import { openClusterStore } from '../src/store';
// The modules themselves, not the package's index: these tests need none of the rest of the swarm.
import type { SwarmContext } from '../src/context';
import { stopIngress } from '../src/ingress';
import { removeSwarmNetworks } from '../src/networks';
import type { PortConfig, Service } from '../src/types';
import { reserveTestBlock, type TestBlock } from '../../../test/support/test-subnets';
import { collector } from '../../engine/test/fixture';

/**
 * A swarm context on a throwaway root for the networking tests: an engine with busybox whose
 * networks (its default bridge, its pool, and the cluster's DefaultAddrPool) come from a block of
 * the test range reserved host-wide, and the cluster store. `init` writes the cluster object
 * (what `swarm init` does first), so the store says the swarm is active.
 */
export interface SwarmNetFixture {
  ctx: SwarmContext;
  block: TestBlock;
  /** The cluster's DefaultAddrPool: /24s 0-7 of the block. */
  pool: string;
  init(): Promise<void>;
  /** A service in the store, with its Endpoint's ports as allocated. */
  addService(name: string, ports: PortConfig[], networks?: string[]): Promise<Service>;
  /** A task of `service` in the store, desired running, and its container (busybox running `cmd`), as a task's container is labelled. */
  runTask(service: Service, slot: number, cmd: string[], network: string, aliases?: string[]): Promise<string>;
  /** What `cmd` prints in container `id`. */
  execOut(id: string, cmd: string[]): Promise<string>;
  cleanup(): Promise<void>;
}

export async function swarmNetFixture(): Promise<SwarmNetFixture> {
  const root = await mkdtemp(join(tmpdir(), 'ctr-swarm-net-'));
  const runRoot = await mkdtemp(join(tmpdir(), 'ctr-swarm-net-run-'));
  const block = reserveTestBlock();
  const engine = new Engine({ root, runRoot, networks: { defaultBridge: { subnet: block.subnet(15) }, addressPool: { base: `${block.net(8)}.0/22`, size: 24 } } });
  await engine.importBusybox();
  const ctx: SwarmContext = { engine, store: openClusterStore(root), root, runRoot };
  const pool = `${block.net(0)}.0/21`;
  let taskSeq = 0;
  return {
    ctx,
    block,
    pool,
    async init() {
      await ctx.store.transaction((tx) => {
        tx.create('cluster', {
          ID: 'clustertestid0000000000000',
          Spec: {
            Name: 'default',
            Labels: {},
            Orchestration: { TaskHistoryRetentionLimit: 5 },
            Raft: { SnapshotInterval: 10000, LogEntriesForSlowFollowers: 500, ElectionTick: 10, HeartbeatTick: 1 },
            Dispatcher: { HeartbeatPeriod: 5_000_000_000 },
            CAConfig: {},
            TaskDefaults: {},
            EncryptionConfig: { AutoLockManagers: false },
          },
          TLSInfo: { TrustRoot: '', CertIssuerSubject: '', CertIssuerPublicKey: '' },
          RootRotationInProgress: false,
          DefaultAddrPool: [pool],
          SubnetSize: 24,
          DataPathPort: 4789,
          JoinTokens: { Worker: '', Manager: '' },
        });
      });
    },
    async addService(name, ports, networks = []) {
      return ctx.store.transaction((tx) =>
        tx.create('services', {
          ID: `svc${name}`.padEnd(25, '0').slice(0, 25),
          Spec: { Name: name, Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: networks.map((Target) => ({ Target })) }, Mode: { Replicated: { Replicas: 1 } }, EndpointSpec: { Ports: ports } },
          Endpoint: { Spec: { Ports: ports }, Ports: ports },
        }),
      );
    },
    async runTask(service, slot, cmd, network, aliases = []) {
      const taskId = `task${++taskSeq}`.padEnd(25, '0');
      await ctx.store.transaction((tx) =>
        tx.create('tasks', {
          ID: taskId,
          Spec: service.Spec.TaskTemplate,
          ServiceID: service.ID,
          Slot: slot,
          NodeID: 'node',
          Status: { Timestamp: new Date().toISOString(), State: 'running', Message: 'started' },
          DesiredState: 'running',
        }),
      );
      const { id } = await engine.run({
        image: 'busybox',
        name: `${service.Spec.Name}.${slot}.${taskId}`,
        cmd,
        network,
        networkAliases: aliases,
        labels: { 'com.docker.swarm.service.id': service.ID, 'com.docker.swarm.service.name': service.Spec.Name, 'com.docker.swarm.task.id': taskId },
        detach: true,
      });
      return id;
    },
    async execOut(id, cmd) {
      const out = collector();
      await engine.exec(id, { cmd, stdout: out, stderr: out });
      return out.text();
    },
    async cleanup() {
      for (const c of await engine.ps({ all: true })) await engine.remove(c.Id, { force: true, volumes: true }).catch(() => undefined);
      await removeSwarmNetworks(ctx).catch(() => undefined);
      await stopIngress(ctx);
      await new NetworkManager({ root, runRoot }).gc();
      await ctx.store.destroy();
      block.release();
      await rm(root, { recursive: true, force: true, maxRetries: 5 });
      await rm(runRoot, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}
