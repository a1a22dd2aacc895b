import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { asCtrError } from '@ctr/errors';
import type { SweepReport } from '@ctr/engine';
import { startDaemon } from './daemon';

const USAGE = `Usage: ctrd [OPTIONS]

A Docker Engine API daemon for ctr.

Options:
  -H, --host list               Daemon socket(s) to listen on (default unix:///run/ctr/ctr.sock)
      --root string             Root of persistent state (default /var/lib/ctr, or $CTR_ROOT)
      --runroot string          Root of state that dies with the machine (default /run/ctr, or $CTR_RUNROOT)
      --tlsverify               Serve tcp:// hosts over TLS, only to clients with a certificate from --tlscacert
      --tlscacert path          CA that signs client certificates
      --tlscert path            Server certificate
      --tlskey path             Server key
      --registry-mirror list    Preferred Docker registry mirror (tried first for docker.io pulls)
      --insecure-registry list  Registries (host:port) that may be reached over plain HTTP
  -h, --help                    Print usage
`;

interface Args {
  hosts: string[];
  root?: string;
  runRoot?: string;
  tls: { verify: boolean; ca?: string; cert?: string; key?: string };
  registry: { mirrors: string[]; insecureRegistries: string[] };
  help: boolean;
}

function parseArgs(argv: string[]): Args {
  const out: Args = { hosts: [], tls: { verify: false }, registry: { mirrors: [], insecureRegistries: [] }, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw asCtrError(new Error(`flag needs an argument: ${flag}`), 'InvalidArgument');
      return v;
    };
    if (flag === '-H' || flag === '--host') out.hosts.push(value());
    else if (flag === '--root' || flag === '--data-root') out.root = path.resolve(value());
    else if (flag === '--runroot' || flag === '--exec-root') out.runRoot = path.resolve(value());
    else if (flag === '--tlsverify') out.tls.verify = true;
    else if (flag === '--tlscacert') out.tls.ca = value();
    else if (flag === '--tlscert') out.tls.cert = value();
    else if (flag === '--tlskey') out.tls.key = value();
    else if (flag === '--registry-mirror') out.registry.mirrors.push(value());
    else if (flag === '--insecure-registry') out.registry.insecureRegistries.push(value());
    else if (flag === '-h' || flag === '--help') out.help = true;
    else throw asCtrError(new Error(`unknown flag: ${flag}\nSee 'ctrd --help'.`), 'InvalidArgument');
  }
  return out;
}

/** The start's sweep in a line of the daemon's log; none when it found nothing. */
function sweepLine(result: SweepReport | Error): string | undefined {
  if (result instanceof Error) return `sweeping leftovers of ended processes failed (the daemon serves on): ${asCtrError(result).describe()}`;
  const { removedIngests, removedSnapshots, removedImageUses, reclaimed } = result;
  if (removedIngests.length + removedSnapshots.length + removedImageUses.length === 0 && reclaimed === 0) return undefined;
  return `removed leftovers of ended processes: ${removedIngests.length} download(s), ${removedSnapshots.length} layer extraction(s), ${removedImageUses.length} image-use mark(s); ${reclaimed} bytes freed`;
}

/** The `ctrd` command (and `ctr daemon`): serve until SIGINT/SIGTERM. Returns the exit code on failure to start. */
export async function daemonMain(argv: string[]): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (args.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const { verify, ca, cert, key } = args.tls;
    if (verify && !(ca && cert && key)) throw asCtrError(new Error('--tlsverify needs --tlscacert, --tlscert and --tlskey'), 'InvalidArgument');
    for (const host of args.hosts) if (host.startsWith('unix://')) mkdirSync(path.dirname(host.slice(7)), { recursive: true });
    const daemon = await startDaemon({
      ...(args.root ? { root: args.root } : {}),
      ...(args.runRoot ? { runRoot: args.runRoot } : {}),
      hosts: args.hosts,
      registry: args.registry,
      ...(verify && ca && cert && key ? { tls: { ca: readFileSync(ca), cert: readFileSync(cert), key: readFileSync(key) } } : {}),
      onInternalError: (error, request) => process.stderr.write(`ctrd: ${request}: ${(error as Error).stack ?? String(error)}\n`),
      onSweep: (result) => {
        const line = sweepLine(result);
        if (line !== undefined) process.stderr.write(`ctrd: ${line}\n`);
      },
    });
    process.stderr.write(`ctrd: API listening on ${daemon.server.addresses.map((a) => a.host).join(', ')}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await daemon.stop();
    return 0;
  } catch (error) {
    const e = asCtrError(error);
    process.stderr.write(`ctrd: ${e.describe()}\n`);
    return 1;
  }
}
