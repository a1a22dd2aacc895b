import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '@ctr/engine';
import { NetworkManager } from '@ctr/network';
import { Swarm } from '../src/swarm';
import type { InitRequest } from '../src/types';
import { reserveTestBlock, type TestBlock } from '../../../test/support/test-subnets';

/**
 * A Swarm over a real Engine on a throwaway root, whose networks (the default bridge, the
 * engine's pool and the cluster's DefaultAddrPool, where `init` puts the ingress network) come
 * from a block of the test range reserved host-wide.
 */
export interface ClusterFixture {
  swarm: Swarm;
  engine: Engine;
  root: string;
  runRoot: string;
  /** `swarm init` with the fixture's address pool, and whatever else the test asks. */
  init(request?: InitRequest): Promise<string>;
  cleanup(): Promise<void>;
}

export async function clusterFixture(): Promise<ClusterFixture> {
  const root = await mkdtemp(join(tmpdir(), 'ctr-swarm-cluster-'));
  const runRoot = await mkdtemp(join(tmpdir(), 'ctr-swarm-cluster-run-'));
  const block: TestBlock = reserveTestBlock();
  const engine = new Engine({ root, runRoot, networks: { defaultBridge: { subnet: block.subnet(15) }, addressPool: { base: `${block.net(8)}.0/22`, size: 24 } } });
  const swarm = new Swarm({ engine });
  return {
    swarm,
    engine,
    root,
    runRoot,
    init: (request = {}) => swarm.init({ AdvertiseAddr: '127.0.0.1', DefaultAddrPool: [`${block.net(0)}.0/21`], ...request }),
    async cleanup() {
      if (swarm.context().store.active()) await swarm.leave(true).catch(() => undefined);
      await new NetworkManager({ root, runRoot }).gc();
      block.release();
      await rm(root, { recursive: true, force: true, maxRetries: 5 });
      await rm(runRoot, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}
