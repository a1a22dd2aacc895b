import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryContentStore } from '@ctr/image';
import { RegistryClient, RegistryServer } from '@ctr/registry';
import { startDockerRegistry, type DockerRegistry } from './processes';

/**
 * What image-transfer tests run against: ctr's own registry server (content in memory) and the
 * Debian `docker-registry`, both on 127.0.0.1, a client for either, and a scratch directory.
 */
export interface BothRegistries {
  work: string;
  ctrRegistry: RegistryServer;
  distribution: DockerRegistry;
  registryClient: RegistryClient;
  /** Stops both servers and the client, and removes the scratch directory. */
  close(): Promise<void>;
}

export async function startBothRegistries(workPrefix: string): Promise<BothRegistries> {
  const work = await mkdtemp(join(tmpdir(), workPrefix));
  const ctrRegistry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry') });
  const registryClient = new RegistryClient({ credentials: {} });
  let distribution: DockerRegistry | undefined;
  const close = async (): Promise<void> => {
    await registryClient.close();
    await ctrRegistry.close();
    await distribution?.stop();
    await rm(work, { recursive: true, force: true });
  };
  try {
    await ctrRegistry.listen();
    distribution = await startDockerRegistry();
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return { work, ctrRegistry, distribution, registryClient, close };
}
