import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { invalidArgument } from '@ctr/errors';
import type { Command } from '../command';
import { println, registryModule } from '../context';
import { num, str } from '../flags';

const serve: Command = {
  name: 'serve',
  usage: '[OPTIONS]',
  description: 'Serve a private registry (OCI distribution API) until interrupted',
  flags: [
    { name: 'port', short: 'p', type: 'number', description: 'Port to listen on', default: 5000 },
    { name: 'host', type: 'string', description: 'Address to listen on', default: '127.0.0.1' },
    { name: 'root', type: 'string', description: 'Where the registry keeps its blobs and metadata (default: <ctr root>/registry)' },
    { name: 'tls-cert', type: 'string', description: 'Serve HTTPS with this PEM certificate (docker reaches a trust server over HTTPS only)' },
    { name: 'tls-key', type: 'string', description: 'The PEM private key of --tls-cert' },
  ],
  args: [0, 0],
  async run(args, io) {
    const { RegistryServer } = registryModule();
    const { openStore } = require('@ctr/store') as typeof import('@ctr/store');
    const root = str(args, 'root') ?? path.join(process.env.CTR_ROOT ?? '/var/lib/ctr', 'registry');
    const certFile = str(args, 'tls-cert');
    const keyFile = str(args, 'tls-key');
    if ((certFile === undefined) !== (keyFile === undefined)) throw invalidArgument('--tls-cert and --tls-key must be given together');
    const tls = certFile === undefined || keyFile === undefined ? undefined : { cert: await readTlsFile(certFile), key: await readTlsFile(keyFile) };
    const store = await openStore({ root });
    const server = new RegistryServer({
      store: store.content,
      root: path.join(root, 'registry'),
      port: num(args, 'port') ?? 5000,
      host: str(args, 'host') ?? '127.0.0.1',
      tls,
    });
    await server.listen();
    println(io, `registry listening on ${server.url}`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    return 0;
  },
};

async function readTlsFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw invalidArgument(`could not read ${file}: ${(error as Error).message}`, { cause: error });
  }
}

export const registryCommands: Command[] = [serve];
