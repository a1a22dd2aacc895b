import { CtrError, throwIfAborted } from '@ctr/errors';
import { spawn } from 'node:child_process';

export interface RunOptions {
  /** Written to the command's stdin (ip -batch, iptables-restore). */
  input?: string;
  signal?: AbortSignal;
}

const PACKAGES: Record<string, string> = {
  ip: 'iproute2',
  iptables: 'iptables',
  'iptables-save': 'iptables',
  'iptables-restore': 'iptables',
  ip6tables: 'iptables',
  'ip6tables-save': 'iptables',
  'ip6tables-restore': 'iptables',
  unshare: 'util-linux',
  nsenter: 'util-linux',
  umount: 'mount',
};

/** Runs a host tool and returns its stdout; failure is a CtrError carrying its stderr. */
export function run(cmd: string, args: string[], options: RunOptions = {}): Promise<string> {
  throwIfAborted(options.signal, `${cmd}`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        const pkg = PACKAGES[cmd];
        reject(
          new CtrError('Unavailable', `${cmd} is not installed`, {
            hint: pkg ? `install the Debian package ${pkg}` : undefined,
            cause: e,
          }),
        );
      } else reject(new CtrError('Internal', `could not run ${cmd}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, sig) => {
      if (code === 0) return resolve(Buffer.concat(out).toString('utf8'));
      const stderr = Buffer.concat(err).toString('utf8').trim();
      reject(
        new CtrError('Internal', `${cmd} failed (${sig ?? `exit ${code}`}): ${stderr || 'no message'}`, {
          details: { command: [cmd, ...args].join(' '), stderr },
        }),
      );
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Runs a generated shell script with `sh -e`; the script is built only from validated values. */
export function runScript(script: string, options: RunOptions = {}): Promise<string> {
  return run('sh', ['-ec', script], options);
}
