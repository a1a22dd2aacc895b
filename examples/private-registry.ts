/**
 * Push to and pull from a private registry: the script starts @ctr/registry's server on
 * 127.0.0.1 (a free port, blobs in a real @ctr/store content store), tags busybox for it,
 * pushes, removes the local copy, pulls it back and runs it.
 *
 *   node examples/run.js private-registry
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryServer } from '@ctr/registry';
import { openStore } from '@ctr/store';
import { lines, sandbox } from './lib/sandbox';

export async function main(_args: string[] = [], log: (line: string) => void = console.log): Promise<{ pushed: string; pulled: string; output: string[] }> {
  const { engine, cleanup } = await sandbox('registry');
  const registryRoot = await mkdtemp(join(tmpdir(), 'ctr-example-registry-'));
  const store = await openStore({ root: join(registryRoot, 'store') });
  const server = new RegistryServer({ store: store.content, root: join(registryRoot, 'meta') });
  try {
    const url = await server.listen();
    const host = new URL(url).host;
    log(`registry listening on ${url}`);
    const name = `${host}/tools/busybox:stable`;
    await engine.tag('busybox', name);
    const pushed = await engine.push(name);
    log(`pushed ${name} (${pushed.digest})`);
    await engine.removeImage(name);
    await engine.removeImage('busybox');
    log(`local images now: ${(await engine.images()).length}`);
    const pulled = await engine.pull(name);
    log(`pulled ${name}: ${pulled.record.id}`);
    const output: string[] = [];
    await engine.run({ image: name, network: 'none', autoRemove: true, cmd: ['echo', 'running the pulled image'], stdout: lines((line) => (output.push(line), log(line))) });
    return { pushed: pushed.digest, pulled: pulled.record.id, output };
  } finally {
    await server.close();
    await rm(registryRoot, { recursive: true, force: true });
    await cleanup();
  }
}
