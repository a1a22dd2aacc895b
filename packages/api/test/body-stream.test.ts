import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { bodyStream, type Call } from '../src/call';

function callOn(req: PassThrough): Call {
  return { req: req as unknown as IncomingMessage, params: [], query: new URLSearchParams() } as unknown as Call;
}

describe('a request body handed to a route', () => {
  test('a client that goes away after its reader stopped listening fails the body, not the daemon', async () => {
    const req = new PassThrough();
    const body = bodyStream(callOn(req));
    req.write('half a context');
    const closed = new Promise<void>((resolve) => body.once('close', resolve));
    req.destroy(new Error('read ECONNRESET'));
    await closed;
    expect(body.errored).toEqual(expect.objectContaining({ message: 'read ECONNRESET' }));
  });

  test('a reader still listening is told why the body failed', async () => {
    const req = new PassThrough();
    const body = bodyStream(callOn(req));
    const failed = once(body, 'error');
    req.destroy(new Error('read ECONNRESET'));
    await expect(failed).resolves.toEqual([expect.objectContaining({ message: 'read ECONNRESET' })]);
  });
});
