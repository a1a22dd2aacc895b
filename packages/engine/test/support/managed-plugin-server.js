// A managed plugin's program for tests: `node managed-plugin-server.js SOCKET [IMPLEMENTS]`
// listens on SOCKET (a name in /run/docker/plugins) and answers Docker's plugin protocol's
// Plugin.Activate with IMPLEMENTS (comma-separated, default VolumeDriver), and Test.Info with
// what it was started with: its arguments, its environment and the files under /data — how a
// test sees that `plugin set` reached the plugin.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const [socketName, implementsList = 'VolumeDriver', ...rest] = process.argv.slice(2);
const socket = path.isAbsolute(socketName) ? socketName : path.join('/run/docker/plugins', socketName);
const implemented = implementsList.split(',').filter(Boolean);

function listData() {
  try {
    return fs.readdirSync('/data').sort();
  } catch {
    return null;
  }
}

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.setHeader('Content-Type', 'application/vnd.docker.plugins.v1.2+json');
    if (req.url === '/Plugin.Activate') return res.end(JSON.stringify({ Implements: implemented }));
    if (req.url === '/Test.Info') return res.end(JSON.stringify({ args: process.argv.slice(2), rest, env: process.env, data: listData() }));
    res.statusCode = 404;
    res.end(JSON.stringify({ Err: `unknown method ${req.url}` }));
  });
});
fs.rmSync(socket, { force: true });
server.listen(socket);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
