import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { unavailable } from '@ctr/errors';

/**
 * `ctr system dial-stdio`: bridge this process's stdin/stdout to the daemon socket, so an
 * SSH client can speak HTTP to a remote daemon. The end of input half-closes the socket
 * (a hijacked exec or attach sees its stdin end); resolves when the daemon closes its side.
 */
export function dialStdio(socketPath: string, input: Readable, output: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path: socketPath, allowHalfOpen: true });
    socket.once('error', (error) => reject(unavailable(`Cannot connect to the ctr daemon at unix://${socketPath}: ${error.message}`, { hint: 'is ctrd running?', cause: error })));
    socket.once('connect', () => {
      input.pipe(socket);
      socket.pipe(output);
      socket.once('end', () => resolve());
    });
  });
}
