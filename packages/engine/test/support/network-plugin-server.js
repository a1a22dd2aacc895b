#!/usr/bin/env node
// A Docker network plugin for tests: `node network-plugin-server.js SOCKET DATADIR PREFIX`.
// It speaks the legacy plugin protocol (Plugin.Activate, NetworkDriver.*) on a unix socket. Each
// network is a Linux bridge of its own (`<PREFIX>b<N>`, no address: containers on it reach each
// other and nothing else); each endpoint a veth pair (`<PREFIX>e<N>h` on the bridge, `<PREFIX>e<N>c`
// given to the engine in Join to move into the container). DeleteEndpoint and DeleteNetwork remove
// them. A MAC is given in CreateEndpoint's answer when the engine asked for none. Driver options
// (`-o`): `fail-join=<words>` answers Join with {"Err": words}; `dst-prefix=<p>` names the
// interface's prefix inside; `gateway=<ip>` is Join's Gateway. Methods it does not have
// (ProgramExternalConnectivity…) get a 404, as a plugin without them. Every call is appended to
// DATADIR/calls.log ({method, body}). PLUGIN_IMPLEMENTS=A,B changes what its activation says.
// Prints "ready" once it listens; on SIGTERM/SIGINT removes what it made and its socket.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const [socket, dataDir, prefix] = process.argv.slice(2);
if (!socket || !dataDir || !prefix || prefix.length > 7) {
  process.stderr.write('usage: network-plugin-server.js SOCKET DATADIR PREFIX(<=7 chars)\n');
  process.exit(2);
}
fs.mkdirSync(dataDir, { recursive: true });

const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
const quietly = (fn) => {
  try {
    fn();
  } catch {
    // already gone
  }
};

let counter = 0;
/** id → {bridge, options} */
const networks = new Map();
/** id → {host, container, network} */
const endpoints = new Map();

const handlers = {
  'Plugin.Activate': () => ({ Implements: (process.env.PLUGIN_IMPLEMENTS || 'NetworkDriver').split(',') }),
  'NetworkDriver.GetCapabilities': () => ({ Scope: 'local', ConnectivityScope: 'local' }),
  'NetworkDriver.CreateNetwork': ({ NetworkID, Options }) => {
    const bridge = `${prefix}b${counter++}`;
    ip('link', 'add', 'name', bridge, 'type', 'bridge');
    ip('link', 'set', bridge, 'up');
    networks.set(NetworkID, { bridge, options: (Options && Options['com.docker.network.generic']) || {} });
    return {};
  },
  'NetworkDriver.DeleteNetwork': ({ NetworkID }) => {
    const net = networks.get(NetworkID);
    if (!net) return { Err: `no network ${NetworkID}` };
    quietly(() => ip('link', 'del', net.bridge));
    networks.delete(NetworkID);
    return {};
  },
  'NetworkDriver.CreateEndpoint': ({ NetworkID, EndpointID, Interface }) => {
    const net = networks.get(NetworkID);
    if (!net) return { Err: `no network ${NetworkID}` };
    const n = counter++;
    const ep = { host: `${prefix}e${n}h`, container: `${prefix}e${n}c`, network: NetworkID };
    ip('link', 'add', ep.host, 'type', 'veth', 'peer', 'name', ep.container);
    ip('link', 'set', ep.host, 'master', net.bridge, 'up');
    endpoints.set(EndpointID, ep);
    const mac = `02:aa:00:00:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;
    return { Interface: Interface && Interface.MacAddress ? {} : { MacAddress: mac } };
  },
  'NetworkDriver.DeleteEndpoint': ({ EndpointID }) => {
    const ep = endpoints.get(EndpointID);
    if (!ep) return { Err: `no endpoint ${EndpointID}` };
    quietly(() => ip('link', 'del', ep.host));
    endpoints.delete(EndpointID);
    return {};
  },
  'NetworkDriver.Join': ({ NetworkID, EndpointID }) => {
    const net = networks.get(NetworkID);
    const ep = endpoints.get(EndpointID);
    if (!net || !ep) return { Err: `no endpoint ${EndpointID} on ${NetworkID}` };
    if (net.options['fail-join']) return { Err: net.options['fail-join'] };
    return {
      InterfaceName: { SrcName: ep.container, DstPrefix: net.options['dst-prefix'] || 'eth' },
      ...(net.options.gateway ? { Gateway: net.options.gateway } : {}),
    };
  },
  'NetworkDriver.Leave': ({ EndpointID }) => (endpoints.has(EndpointID) ? {} : { Err: `no endpoint ${EndpointID}` }),
};

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const method = req.url.replace(/^\//, '');
    let body = {};
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
      return res.end(`404 page not found\n`);
    }
    let answer;
    try {
      answer = handler(body);
    } catch (error) {
      answer = { Err: String(error && error.message) };
    }
    res.end(JSON.stringify(answer));
  });
});

function shutdown() {
  for (const ep of endpoints.values()) quietly(() => ip('link', 'del', ep.host));
  for (const net of networks.values()) quietly(() => ip('link', 'del', net.bridge));
  server.close();
  fs.rmSync(socket, { force: true });
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

fs.rmSync(socket, { force: true });
fs.mkdirSync(path.dirname(socket), { recursive: true });
server.listen(socket, () => process.stdout.write('ready\n'));
