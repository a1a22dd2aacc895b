import * as net from 'node:net';
import { freePort } from './free-port';

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** The first of `count` consecutive TCP ports on 127.0.0.1 that nothing listened on a moment ago, for a host range. */
export async function freePortRun(count: number): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + count - 1 > 65535) continue;
    let free = true;
    for (let i = 1; i < count && free; i++) free = await canBind(port + i);
    if (free) return port;
  }
}
