import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '@ctr/engine';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer } from '@ctr/registry';

/**
 * A registry on 127.0.0.1 (ctr's server, content in memory) and an engine of its own that
 * publishes base images to it: what `build --pull` tests pull from, a base whose content
 * changes under one tag while the engine under test keeps the old one.
 */
export interface BaseRegistry {
  registry: RegistryServer;
  /** `FROM busybox` with `files` (name: content) in `/`, built and pushed as `ref` (the tag moves if it was there); its image ID. */
  publish(ref: string, files: Record<string, string>): Promise<string>;
  /** Stops the registry (idempotent), removes the publisher's root. */
  close(): Promise<void>;
}

export async function startBaseRegistry(): Promise<BaseRegistry> {
  const work = await mkdtemp(join(tmpdir(), 'ctr-base-registry-'));
  const registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry') });
  const publisher = new Engine({ root: join(work, 'root'), runRoot: join(work, 'run') });
  const close = async (): Promise<void> => {
    await publisher.close();
    await registry.close();
    await rm(work, { recursive: true, force: true });
  };
  try {
    await registry.listen();
    await publisher.importBusybox();
  } catch (error) {
    await close();
    throw error;
  }
  const publish = async (ref: string, files: Record<string, string>): Promise<string> => {
    const context = await mkdtemp(join(work, 'context-'));
    for (const [name, content] of Object.entries(files)) await writeFile(join(context, name), content);
    const built = await publisher.build({ context, dockerfileContent: 'FROM busybox\nCOPY . /\n', tags: [ref] });
    await publisher.push(ref);
    await rm(context, { recursive: true, force: true });
    return built.id;
  };
  return { registry, publish, close };
}
