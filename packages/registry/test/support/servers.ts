import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemoryContentStore, type ContentStore } from '@ctr/image';
import { RegistryServer, type ServerAuth } from '@ctr/registry';

export interface RunningRegistry {
  server: RegistryServer;
  store: ContentStore;
  root: string;
  /** `127.0.0.1:<port>` */
  host: string;
  url: string;
  stop(): Promise<void>;
}

/** A ctr registry on 127.0.0.1 with an in-memory store and metadata in a temp dir. */
export async function startRegistry(options: { auth?: ServerAuth; store?: ContentStore } = {}): Promise<RunningRegistry> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-registry-test-'));
  const store = options.store ?? new MemoryContentStore();
  const server = new RegistryServer({ store, root, ...(options.auth ? { auth: options.auth } : {}) });
  const url = await server.listen();
  return {
    server,
    store,
    root,
    url,
    host: server.host,
    stop: async () => {
      await server.close();
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}
