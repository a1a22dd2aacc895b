#!/usr/bin/env node
// A Docker logging plugin for tests: `node log-plugin-server.js SOCKET DATADIR`.
// It speaks the legacy plugin protocol (Plugin.Activate, LogDriver.*) on a unix socket. At
// StartLogging it reads the FIFO it is given, decodes its framed LogEntry messages (uint32
// big-endian length, then protobuf) and appends each as a JSON line to DATADIR/entries.log
// ({file, container, source, timeNano, line, partial, partialLogMetadata}). Every call is
// appended to DATADIR/calls.log ({method, body}); StopLogging answers once the FIFO's writer is
// done (its end of file), as the protocol asks. `PLUGIN_READ_LOGS=1` makes its Capabilities say
// ReadLogs, and ReadLogs then sends back the container's frames as they came (Tail, Follow);
// `PLUGIN_FAIL_START=<words>` answers StartLogging with {"Err": "<words>"}; `PLUGIN_SWAP_FIFO=<path>`
// makes StartLogging put a link to <path> where the FIFO was (a hostile plugin). Prints "ready"
// once it listens; removes its socket on SIGTERM/SIGINT.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const [socket, dataDir] = process.argv.slice(2);
if (!socket || !dataDir) {
  process.stderr.write('usage: log-plugin-server.js SOCKET DATADIR\n');
  process.exit(2);
}
fs.mkdirSync(dataDir, { recursive: true });

/** Per FIFO being read: its container, its end (a promise), and how to end the read early. */
const streams = new Map();
/** Per container: its frames as they came, and the ReadLogs followers waiting for more. */
const logs = new Map();

const logOf = (id) => {
  if (!logs.has(id)) logs.set(id, { frames: [], followers: new Set(), open: false });
  return logs.get(id);
};

function varint(buffer, at) {
  let value = 0n;
  for (let shift = 0n; ; shift += 7n) {
    const byte = buffer[at++];
    value |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return [value, at];
  }
}

function fields(message) {
  const out = [];
  let at = 0;
  while (at < message.length) {
    let key;
    [key, at] = varint(message, at);
    const field = Number(key >> 3n);
    if ((key & 7n) === 0n) {
      let value;
      [value, at] = varint(message, at);
      out.push({ field, value });
    } else {
      let size;
      [size, at] = varint(message, at);
      out.push({ field, bytes: message.subarray(at, at + Number(size)) });
      at += Number(size);
    }
  }
  return out;
}

function decode(message) {
  const entry = { source: '', timeNano: '0', line: '', partial: false };
  for (const f of fields(message)) {
    if (f.field === 1) entry.source = f.bytes.toString('utf8');
    else if (f.field === 2) entry.timeNano = String(f.value);
    else if (f.field === 3) entry.line = f.bytes.toString('utf8');
    else if (f.field === 4) entry.partial = f.value !== 0n;
    else if (f.field === 5) {
      const meta = { last: false, id: '', ordinal: 0 };
      for (const g of fields(f.bytes)) {
        if (g.field === 1) meta.last = g.value !== 0n;
        else if (g.field === 2) meta.id = g.bytes.toString('utf8');
        else if (g.field === 3) meta.ordinal = Number(g.value);
      }
      entry.partialLogMetadata = meta;
    }
  }
  return entry;
}

function startReading(file, container) {
  const log = logOf(container);
  log.open = true;
  const input = fs.createReadStream(file);
  let rest = Buffer.alloc(0);
  const ended = new Promise((resolve) => {
    input.on('data', (chunk) => {
      rest = Buffer.concat([rest, chunk]);
      while (rest.length >= 4 && rest.length >= 4 + rest.readUInt32BE(0)) {
        const size = rest.readUInt32BE(0);
        const frame = rest.subarray(0, 4 + size);
        rest = rest.subarray(4 + size);
        fs.appendFileSync(path.join(dataDir, 'entries.log'), `${JSON.stringify({ file, container, ...decode(frame.subarray(4)) })}\n`);
        log.frames.push(frame);
        for (const follower of log.followers) follower.write(frame);
      }
    });
    input.on('close', resolve);
    input.on('error', resolve);
  });
  streams.set(file, { container, ended });
}

/** The FIFO's read ends: at once when its writer has come and gone; else when one opens and closes it (a start that never ran gets a writer that goes at once). */
async function stopReading(file) {
  const stream = streams.get(file);
  if (!stream) return;
  try {
    // A read still waiting for a writer is let go.
    fs.closeSync(fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
  } catch {
    // The reader has its writer, or has ended.
  }
  await stream.ended;
  streams.delete(file);
  const log = logOf(stream.container);
  log.open = false;
  for (const follower of log.followers) follower.end();
  log.followers.clear();
}

const handlers = {
  'Plugin.Activate': () => ({ Implements: (process.env.PLUGIN_IMPLEMENTS || 'LogDriver').split(',') }),
  'LogDriver.Capabilities': () => ({ Cap: { ReadLogs: process.env.PLUGIN_READ_LOGS === '1' } }),
  'LogDriver.StartLogging': ({ File, Info }) => {
    if (process.env.PLUGIN_FAIL_START) return { Err: process.env.PLUGIN_FAIL_START };
    if (process.env.PLUGIN_SWAP_FIFO) {
      fs.rmSync(File);
      fs.symlinkSync(process.env.PLUGIN_SWAP_FIFO, File);
      return { Err: '' };
    }
    startReading(File, Info.ContainerID);
    return { Err: '' };
  },
  'LogDriver.StopLogging': async ({ File }) => {
    await stopReading(File);
    return { Err: '' };
  },
};

function readLogs(body, response) {
  const log = logOf(body.Info.ContainerID);
  const tail = body.Config.Tail;
  const frames = tail >= 0 ? log.frames.slice(Math.max(0, log.frames.length - tail)) : log.frames;
  response.writeHead(200, { 'Content-Type': 'application/x-json-stream' });
  for (const frame of frames) response.write(frame);
  if (body.Config.Follow && log.open) {
    log.followers.add(response);
    response.on('close', () => log.followers.delete(response));
  } else response.end();
}

const server = http.createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', async () => {
    const method = request.url.replace(/^\//, '');
    let body = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') || {};
    } catch {
      body = {};
    }
    fs.appendFileSync(path.join(dataDir, 'calls.log'), `${JSON.stringify({ method, body })}\n`);
    if (method === 'LogDriver.ReadLogs' && process.env.PLUGIN_READ_LOGS === '1') return readLogs(body, response);
    const handler = handlers[method];
    if (!handler) {
      response.writeHead(404, { 'Content-Type': 'application/vnd.docker.plugins.v1.2+json' });
      response.end(JSON.stringify({ Err: `404 page not found: ${method}` }));
      return;
    }
    const answer = await handler(body);
    response.writeHead(200, { 'Content-Type': 'application/vnd.docker.plugins.v1.2+json' });
    response.end(JSON.stringify(answer));
  });
});

const stop = () => {
  server.close();
  fs.rmSync(socket, { force: true });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
fs.rmSync(socket, { force: true });
server.listen(socket, () => process.stdout.write('ready\n'));
