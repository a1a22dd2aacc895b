import net from 'node:net';
import tls from 'node:tls';

export interface LoopbackGuard {
  /** Hosts something tried to connect to, other than loopback (should stay empty). */
  refused: string[];
  restore(): void;
}

type Connect = (...args: unknown[]) => unknown;

/**
 * Refuse, in this process, every TCP or TLS connection to a host outside 127.0.0.0/8 (and
 * `localhost`), before any name is looked up: a test that must never reach Docker Hub
 * cannot, even through a bug, and `refused` tells what was tried.
 */
export function loopbackOnly(): LoopbackGuard {
  const refused: string[] = [];
  const modules = [net, tls] as unknown as { connect: Connect }[];
  const originals = modules.map((mod) => mod.connect);
  modules.forEach((mod, i) => {
    const original = originals[i] as Connect;
    mod.connect = function guarded(this: unknown, ...args: unknown[]): unknown {
      const host = hostOf(args);
      if (!/^(127(?:\.\d{1,3}){3}|localhost)$/.test(host)) {
        refused.push(host);
        throw new Error(`test guard: refused a connection to ${host} (only 127.0.0.1 may be reached)`);
      }
      return original.apply(this, args);
    };
  });
  return {
    refused,
    restore: () => modules.forEach((mod, i) => (mod.connect = originals[i] as Connect)),
  };
}

/** The host of `net.connect` / `tls.connect` arguments: (options), (port, host) or (path). */
function hostOf(args: unknown[]): string {
  const [first, second] = args;
  if (typeof first === 'object' && first !== null) {
    const options = first as { host?: string; path?: string; socket?: unknown };
    // A unix socket, or TLS over a connection already made (and checked).
    if (options.path !== undefined || options.socket !== undefined) return 'localhost';
    return options.host ?? 'localhost';
  }
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) return typeof second === 'string' ? second : 'localhost';
  return 'localhost';
}
