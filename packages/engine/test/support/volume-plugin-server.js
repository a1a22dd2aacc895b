#!/usr/bin/env node
// A Docker volume plugin for tests: `node volume-plugin-server.js SOCKET DATADIR`.
// It speaks the legacy plugin protocol (Plugin.Activate, VolumeDriver.*) on a unix socket and
// keeps each volume as a directory DATADIR/volumes/NAME, which Mount gives as the mountpoint (a
// name that is no plain file name, as sshfs's `user@host:/path`, is kept as `hex-<its hex>`).
// Every call is appended to DATADIR/calls.log as a JSON line ({method, body}), for tests to
// read what the engine asked, from any process. A volume created with the option
// `fail-mount=<words>` answers Mount with {"Err": "<words>"}. `PLUGIN_SCOPE=global` makes its
// Capabilities say global; `PLUGIN_IMPLEMENTS=A,B` makes its activation say it implements those. Prints "ready" once it listens; removes its socket on SIGTERM/SIGINT.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const [socket, dataDir] = process.argv.slice(2);
if (!socket || !dataDir) {
  process.stderr.write('usage: volume-plugin-server.js SOCKET DATADIR\n');
  process.exit(2);
}
const volumesDir = path.join(dataDir, 'volumes');
const keyOf = (name) => (/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name) ? name : `hex-${Buffer.from(name).toString('hex')}`);
const volumeDir = (name) => path.join(volumesDir, keyOf(name));
const metaFile = (name) => path.join(dataDir, 'meta', `${keyOf(name)}.json`);
fs.mkdirSync(volumesDir, { recursive: true });
fs.mkdirSync(path.join(dataDir, 'meta'), { recursive: true });

/** Mounts outstanding, per volume: the IDs Mount was called with and Unmount not yet. */
const mounts = new Map();

const exists = (name) => typeof name === 'string' && name !== '' && fs.existsSync(metaFile(name));
const describe = (name) => {
  const meta = JSON.parse(fs.readFileSync(metaFile(name), 'utf8'));
  const ids = [...(mounts.get(name) ?? [])];
  return { Name: name, Mountpoint: volumeDir(name), CreatedAt: meta.CreatedAt, Status: { mounts: ids.length } };
};

const handlers = {
  'Plugin.Activate': () => ({ Implements: (process.env.PLUGIN_IMPLEMENTS || 'VolumeDriver').split(',') }),
  'VolumeDriver.Create': ({ Name, Opts }) => {
    if (typeof Name !== 'string' || Name === '') return { Err: `invalid volume name ${JSON.stringify(Name)}` };
    if (!exists(Name)) {
      fs.mkdirSync(volumeDir(Name), { recursive: true });
      fs.writeFileSync(metaFile(Name), JSON.stringify({ Name, Opts: Opts ?? {}, CreatedAt: new Date().toISOString() }));
    }
    return { Err: '' };
  },
  'VolumeDriver.Remove': ({ Name }) => {
    if (!exists(Name)) return { Err: `no such volume: ${Name}` };
    if ((mounts.get(Name)?.size ?? 0) > 0) return { Err: `volume ${Name} is mounted` };
    fs.rmSync(volumeDir(Name), { recursive: true, force: true });
    fs.rmSync(metaFile(Name), { force: true });
    return { Err: '' };
  },
  'VolumeDriver.Mount': ({ Name, ID }) => {
    if (!exists(Name)) return { Err: `no such volume: ${Name}` };
    const fail = JSON.parse(fs.readFileSync(metaFile(Name), 'utf8')).Opts['fail-mount'];
    if (fail) return { Err: fail };
    if (!mounts.has(Name)) mounts.set(Name, new Set());
    mounts.get(Name).add(ID);
    return { Mountpoint: volumeDir(Name), Err: '' };
  },
  'VolumeDriver.Unmount': ({ Name, ID }) => {
    mounts.get(Name)?.delete(ID);
    return { Err: '' };
  },
  'VolumeDriver.Path': ({ Name }) => (exists(Name) ? { Mountpoint: volumeDir(Name), Err: '' } : { Err: `no such volume: ${Name}` }),
  'VolumeDriver.Get': ({ Name }) => (exists(Name) ? { Volume: describe(Name), Err: '' } : { Err: `no such volume: ${Name}` }),
  'VolumeDriver.List': () => ({
    Volumes: fs
      .readdirSync(path.join(dataDir, 'meta'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => describe(JSON.parse(fs.readFileSync(path.join(dataDir, 'meta', f), 'utf8')).Name ?? f.slice(0, -'.json'.length))),
    Err: '',
  }),
  'VolumeDriver.Capabilities': () => ({ Capabilities: { Scope: process.env.PLUGIN_SCOPE || 'local' } }),
};

const server = http.createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    const method = request.url.replace(/^\//, '');
    let body = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') ?? {};
    } catch {
      body = {};
    }
    fs.appendFileSync(path.join(dataDir, 'calls.log'), `${JSON.stringify({ method, body })}\n`);
    const handler = handlers[method];
    const answer = handler ? handler(body) : undefined;
    response.writeHead(handler ? 200 : 404, { 'Content-Type': 'application/vnd.docker.plugins.v1.2+json' });
    response.end(JSON.stringify(answer ?? { Err: `unknown method ${method}` }));
  });
});

fs.rmSync(socket, { force: true });
fs.mkdirSync(path.dirname(socket), { recursive: true });
server.listen(socket, () => process.stdout.write('ready\n'));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
