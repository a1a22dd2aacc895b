import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PluginClient } from '../src/plugins/client';

/**
 * The plugin client's error semantics, as moby's pkg/plugins client and its consumers have them:
 * a status other than 200 is the client's error (`Method: <Err>`, statusError); an `Err` in a 200
 * answer is an error only where the protocol's proxy makes it one (volume and logging drivers),
 * and is read by the caller otherwise (authorization, libnetwork's remote driver, activation).
 */

let dir: string;
let server: http.Server;
let client: PluginClient;
/** What the test plugin answers each method with: a status and a body. */
const answers = new Map<string, { status: number; body: string }>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-plugin-client-'));
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/Test.Cut') {
        // An answer promised whole and cut short: the plugin died while answering.
        res.writeHead(200, { 'Content-Length': '1000' });
        res.write('{"Mountpoint":');
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      if (req.url === '/Test.Huge') {
        const piece = Buffer.alloc(1024 * 1024, 0x20);
        res.writeHead(200);
        res.on('error', () => undefined);
        Readable.from(Array.from({ length: 40 }, () => piece)).pipe(res);
        return;
      }
      const answer = answers.get(req.url?.slice(1) ?? '') ?? { status: 404, body: '{"Err":"no such method"}' };
      res.statusCode = answer.status;
      res.end(answer.body);
    });
  });
  const socket = join(dir, 'p.sock');
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  client = new PluginClient(`unix://${socket}`, { activateTimeoutMs: 0 });
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

test("a status other than 200 is moby's statusError: the method, then the plugin's Err, with the status in details", async () => {
  answers.set('VolumeDriver.Mount', { status: 500, body: '{"Err":"disk on fire"}' });
  await expect(client.answer('VolumeDriver.Mount')).rejects.toMatchObject({ message: 'VolumeDriver.Mount: disk on fire', details: { status: 500 } });
  await expect(client.call('VolumeDriver.Mount')).rejects.toMatchObject({ message: 'VolumeDriver.Mount: disk on fire' });
});

test('a status other than 200 without an Err is the method, then the body as it came', async () => {
  answers.set('VolumeDriver.Path', { status: 500, body: 'plain words' });
  await expect(client.answer('VolumeDriver.Path')).rejects.toMatchObject({ message: 'VolumeDriver.Path: plain words' });
});

test("call (moby's generated proxies) makes a 200 answer's Err the error, in its words alone", async () => {
  answers.set('VolumeDriver.Create', { status: 200, body: '{"Err":"no space"}' });
  await expect(client.call('VolumeDriver.Create')).rejects.toMatchObject({ message: 'no space' });
});

test("answer (moby's Client.Call) gives a 200 answer as it is, its Err included, for the caller to read", async () => {
  answers.set('AuthZPlugin.AuthZReq', { status: 200, body: '{"Allow":true,"Err":"not read"}' });
  expect(await client.answer('AuthZPlugin.AuthZReq')).toEqual({ Allow: true, Err: 'not read' });
});

test('activation reads what a 200 answer implements, whatever Err it carries', async () => {
  answers.set('Plugin.Activate', { status: 200, body: '{"Implements":["VolumeDriver"],"Err":"not read"}' });
  expect(await client.activate()).toEqual(['VolumeDriver']);
});

test('a connection lost while the answer comes is the plugin failing to answer, not to be reached', async () => {
  await expect(client.call('Test.Cut')).rejects.toMatchObject({ code: 'Unavailable', message: expect.stringMatching(/^Test\.Cut: reading the answer of the plugin at unix:\/\/.*p\.sock: /) });
});

test('an answer larger than any plugin has reason to give is refused, not read into memory', async () => {
  await expect(client.call('Test.Huge')).rejects.toMatchObject({ code: 'ResourceExhausted', message: expect.stringMatching(/^Test\.Huge: the plugin at .* answered with more than 32 MiB$/) });
});
