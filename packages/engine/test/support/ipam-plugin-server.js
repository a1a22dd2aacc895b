#!/usr/bin/env node
// A Docker IPAM plugin for tests: `node ipam-plugin-server.js SOCKET DATADIR DEFAULT_POOL`.
// It speaks the legacy plugin protocol (Plugin.Activate, IpamDriver.*) on a unix socket, in the
// address space `TestLocal`. RequestPool gives the pool asked for, else DEFAULT_POOL (an IPv4
// /24); its PoolID is `TestLocal/<pool>`. RequestAddress gives the address asked for, refused
// with {"Err": …} when it is taken, else the lowest free host address of the pool; a gateway's
// (RequestAddressType com.docker.network.gateway) without one asked for is the pool's first. An
// address or pool released is free again. Every call is appended to DATADIR/calls.log
// ({method, body}). Prints "ready" once it listens; removes its socket on SIGTERM/SIGINT.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const [socket, dataDir, defaultPool] = process.argv.slice(2);
if (!socket || !dataDir || !/^\d+\.\d+\.\d+\.0\/24$/.test(defaultPool || '')) {
  process.stderr.write('usage: ipam-plugin-server.js SOCKET DATADIR DEFAULT_POOL(a.b.c.0/24)\n');
  process.exit(2);
}
fs.mkdirSync(dataDir, { recursive: true });

/** PoolID → the pool's /24 prefix (`a.b.c`) and the host numbers given out. */
const pools = new Map();

const handlers = {
  'Plugin.Activate': () => ({ Implements: ['IpamDriver'] }),
  'IpamDriver.GetCapabilities': () => ({ RequiresMACAddress: false }),
  'IpamDriver.GetDefaultAddressSpaces': () => ({ LocalDefaultAddressSpace: 'TestLocal', GlobalDefaultAddressSpace: 'TestGlobal' }),
  'IpamDriver.RequestPool': ({ Pool, V6 }) => {
    if (V6) return { Err: 'no IPv6 here' };
    const pool = Pool || defaultPool;
    if (!/^\d+\.\d+\.\d+\.0\/24$/.test(pool)) return { Err: `only /24 pools: ${pool}` };
    const id = `TestLocal/${pool}`;
    if (pools.has(id)) return { Err: `pool ${pool} is in use` };
    pools.set(id, { prefix: pool.slice(0, -'.0/24'.length), used: new Set() });
    return { PoolID: id, Pool: pool, Data: {} };
  },
  'IpamDriver.ReleasePool': ({ PoolID }) => (pools.delete(PoolID) ? {} : { Err: `no pool ${PoolID}` }),
  'IpamDriver.RequestAddress': ({ PoolID, Address }) => {
    const pool = pools.get(PoolID);
    if (!pool) return { Err: `no pool ${PoolID}` };
    let host;
    if (Address) {
      host = Number(Address.split('.')[3]);
      if (!Address.startsWith(`${pool.prefix}.`) || pool.used.has(host)) return { Err: `address ${Address} is not available` };
    } else {
      host = 1;
      while (pool.used.has(host)) host++;
      if (host > 254) return { Err: 'no addresses left' };
    }
    pool.used.add(host);
    return { Address: `${pool.prefix}.${host}/24`, Data: {} };
  },
  'IpamDriver.ReleaseAddress': ({ PoolID, Address }) => {
    const pool = pools.get(PoolID);
    if (!pool || !pool.used.delete(Number(String(Address).split('.')[3]))) return { Err: `address ${Address} was not given out` };
    return {};
  },
};

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const method = (req.url || '/').slice(1);
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      body = {};
    }
    fs.appendFileSync(path.join(dataDir, 'calls.log'), `${JSON.stringify({ method, body })}\n`);
    const handler = handlers[method];
    res.setHeader('Content-Type', 'application/vnd.docker.plugins.v1.2+json');
    if (!handler) {
      res.statusCode = 404;
      return res.end('404 page not found\n');
    }
    res.end(JSON.stringify(handler(body || {})));
  });
});

function shutdown() {
  server.close();
  fs.rmSync(socket, { force: true });
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

fs.rmSync(socket, { force: true });
server.listen(socket, () => process.stdout.write('ready\n'));
