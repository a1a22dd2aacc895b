/**
 * A throwaway ctr engine for the examples: its own root and run directories under the
 * system's temporary directory, with `busybox:latest` made from the host's static busybox
 * (no internet). `cleanup()` removes every container, what the root's networks put on the
 * host (bridge, iptables rules, DNS server), and both directories.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import { Engine } from '@ctr/engine';
import { NetworkManager } from '@ctr/network';

export interface Sandbox {
  engine: Engine;
  root: string;
  cleanup(): Promise<void>;
}

export async function sandbox(name: string): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), `ctr-example-${name}-`));
  const runRoot = await mkdtemp(join(tmpdir(), `ctr-example-${name}-run-`));
  const engine = new Engine({ root, runRoot });
  await engine.importBusybox();
  return {
    engine,
    root,
    async cleanup() {
      for (const c of await engine.ps({ all: true })) await engine.remove(c.Id, { force: true, volumes: true }).catch(() => undefined);
      // The root's default bridge, its iptables rules and its DNS server live outside it: gone before the root goes.
      await new NetworkManager({ root, runRoot }).gc();
      await engine.close();
      await rm(root, { recursive: true, force: true });
      await rm(runRoot, { recursive: true, force: true });
    },
  };
}

/** A stream that hands each complete line to `log` (container output into the example's log). */
export function lines(log: (line: string) => void, prefix = ''): Writable {
  let pending = '';
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const part of parts) log(`${prefix}${part}`);
  });
  stream.on('end', () => pending && log(`${prefix}${pending}`));
  return stream;
}
