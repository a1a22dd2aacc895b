// An authorization plugin for tests (docs/extend/plugins_authorization.md). Required, it gives
// `authzServer(decide, seen)`: an HTTP server answering Plugin.Activate with `authz` and
// AuthZPlugin.AuthZReq/AuthZRes with `decide(phase, request)` ({Allow, Msg}), telling `seen` of
// each call. Run as `node authz-plugin-server.js SOCKET [WORD]` (a managed plugin's program), it
// listens on SOCKET (a name in /run/docker/plugins) and refuses every request whose URI has WORD.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const PHASES = { '/AuthZPlugin.AuthZReq': 'request', '/AuthZPlugin.AuthZRes': 'response' };

function authzServer(decide, seen = () => undefined) {
  return http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('Content-Type', 'application/vnd.docker.plugins.v1.2+json');
      if (req.url === '/Plugin.Activate') return res.end(JSON.stringify({ Implements: ['authz'] }));
      const phase = PHASES[req.url];
      if (!phase) {
        res.statusCode = 404;
        return res.end(JSON.stringify({ Err: `unknown method ${req.url}` }));
      }
      const request = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      seen(phase, request);
      res.end(JSON.stringify(decide(phase, request)));
    });
  });
}

module.exports = { authzServer };

if (require.main === module) {
  const [socketName, word] = process.argv.slice(2);
  const socket = path.isAbsolute(socketName) ? socketName : path.join('/run/docker/plugins', socketName);
  const server = authzServer((_phase, request) =>
    word && String(request.RequestUri).includes(word) ? { Allow: false, Msg: `${word} is not allowed` } : { Allow: true },
  );
  fs.rmSync(socket, { force: true });
  server.listen(socket);
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
