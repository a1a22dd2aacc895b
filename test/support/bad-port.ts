import type { Server } from 'node:net';

/**
 * Ports of the WHATWG fetch spec's "bad ports" list, which Node's fetch (undici) refuses with
 * "bad port" and dockerd does not; tried in turn, as any one may be taken on the machine.
 */
const BAD_PORTS = [6666, 6665, 6667, 6668, 6669, 6000, 10080];

/** Start `server` on 127.0.0.1 on the first free port fetch calls bad; the port it took. */
export async function listenOnBadPort(server: Server): Promise<number> {
  for (const port of BAD_PORTS) {
    const listening = await new Promise<boolean>((resolve, reject) => {
      const refused = (error: NodeJS.ErrnoException): void => (error.code === 'EADDRINUSE' ? resolve(false) : reject(error));
      server.once('error', refused);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', refused);
        resolve(true);
      });
    });
    if (listening) return port;
  }
  throw new Error(`every port of ${BAD_PORTS.join(', ')} is taken on 127.0.0.1`);
}
