#!/usr/bin/env node
// `ctr-registry serve --port 5000 --root DIR [--host 127.0.0.1] [--user NAME:PASSWORD]...`
// A private registry on the OCI distribution API. Blobs go into the @ctr/store content store
// under DIR; the registry's own metadata under DIR/registry.
'use strict';
const path = require('node:path');
const { RegistryServer } = require('../dist/index.js');
const { openStore } = require('@ctr/store');

const usage = 'usage: ctr-registry serve [--port 5000] [--host 127.0.0.1] --root DIR [--user NAME:PASSWORD]...';

function usageError(message) {
  return Object.assign(new Error(message), { code: 'InvalidArgument' });
}

function parse(argv) {
  const [command, ...rest] = argv;
  if (command !== 'serve') throw usageError(usage);
  const options = { port: 5000, host: '127.0.0.1', root: undefined, users: {} };
  for (let i = 0; i < rest.length; i += 1) {
    const flag = rest[i];
    const value = rest[i + 1];
    if (value === undefined) throw usageError(`${flag} needs a value\n${usage}`);
    i += 1;
    if (flag === '--port') {
      options.port = Number(value);
      if (!/^\d+$/.test(value) || options.port > 65535) throw usageError(`invalid --port "${value}": expected 0-65535`);
    } else if (flag === '--host') options.host = value;
    else if (flag === '--root') options.root = path.resolve(value);
    else if (flag === '--user') {
      const colon = value.indexOf(':');
      if (colon < 1) throw usageError(`--user expects NAME:PASSWORD, got "${value}"`);
      options.users[value.slice(0, colon)] = value.slice(colon + 1);
    } else throw usageError(`unknown flag ${flag}\n${usage}`);
  }
  if (!options.root) throw usageError(`--root is required\n${usage}`);
  return options;
}

async function main() {
  const options = parse(process.argv.slice(2));
  const store = await openStore({ root: options.root });
  const server = new RegistryServer({
    store: store.content,
    root: path.join(options.root, 'registry'),
    port: options.port,
    host: options.host,
    ...(Object.keys(options.users).length > 0 ? { auth: { type: 'basic', users: options.users } } : {}),
  });
  const url = await server.listen();
  process.stdout.write(`listening on ${url}\n`);
  const stop = () => server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error) => {
  process.stderr.write(`ctr-registry: ${error && error.message ? error.message : String(error)}\n`);
  process.exit(error && error.code === 'InvalidArgument' ? 125 : 1);
});
