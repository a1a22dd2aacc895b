import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { asCtrError, invalidArgument } from '@ctr/errors';
import {
  DAEMON_OPTIONS,
  DEFAULT_CONFIG_FILE,
  addFlagValue,
  daemonOptionOfFlag,
  engineOptionsFromConfig,
  loadDaemonConfig,
  mergeDaemonConfig,
  readDaemonConfigFile,
  reloadedSettings,
  validateDaemonConfig,
  type DaemonConfig,
  type FlagConfig,
  type ReloadableSettings,
  type SweepReport,
} from '@ctr/engine';
import { startDaemon, type Daemon } from './daemon';
import { daemonLog } from './daemon-log';

/** `--config-file`, `--validate` and `--help`: ctrd's flags that are no configuration option. */
const OWN_FLAGS = [
  { usage: '--config-file string', description: `Daemon configuration file (default ${DEFAULT_CONFIG_FILE})` },
  { usage: '--validate', description: 'Validate daemon configuration and exit' },
  { usage: '-h, --help', description: 'Print usage' },
];

function usage(): string {
  const rows = [
    ...DAEMON_OPTIONS.filter((o) => o.flag !== undefined).map((o) => ({
      usage: `${o.short ? `-${o.short}, ` : '    '}--${o.flag}${o.valueName ? ` ${o.valueName}` : ''}`,
      description: `${o.description}${o.alias ? ` (also --${o.alias})` : ''}`,
    })),
    ...OWN_FLAGS.map((f) => ({ usage: f.usage.startsWith('-h') ? f.usage : `    ${f.usage}`, description: f.description })),
  ];
  const width = Math.max(...rows.map((r) => r.usage.length)) + 2;
  return `Usage: ctrd [OPTIONS]\n\nA Docker Engine API daemon for ctr.\n\nOptions:\n${rows.map((r) => `  ${r.usage.padEnd(width)}${r.description}`).join('\n')}\n`;
}

interface Args {
  /** The configuration options given as flags, as daemon.json keys. */
  flags: FlagConfig;
  /** `--config-file`, when given: then it must exist. */
  configFile?: string;
  validate: boolean;
  help: boolean;
}

function parseArgs(argv: string[]): Args {
  const out: Args = { flags: {}, validate: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw invalidArgument(`flag needs an argument: ${flag}\nSee 'ctrd --help'.`);
      return v;
    };
    const option = daemonOptionOfFlag(flag);
    if (option) addFlagValue(out.flags, option, option.kind === 'bool' ? inline ?? 'true' : value());
    else if (flag === '--config-file') out.configFile = value();
    else if (flag === '--validate') out.validate = true;
    else if (flag === '-h' || flag === '--help') out.help = true;
    else throw invalidArgument(`unknown flag: ${flag}\nSee 'ctrd --help'.`);
  }
  for (const key of ['data-root', 'exec-root'] as const) {
    const dir = out.flags[key];
    if (dir !== undefined) out.flags[key] = path.resolve(dir);
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

/** TLS for the daemon's tcp:// hosts: only with client verification (`tlsverify` and its three files). */
function serverTls(config: DaemonConfig): { ca: Buffer; cert: Buffer; key: Buffer } | undefined {
  const { tlsverify, tlscacert, tlscert, tlskey } = config;
  return tlsverify && tlscacert && tlscert && tlskey ? { ca: readFileSync(tlscacert), cert: readFileSync(tlscert), key: readFileSync(tlskey) } : undefined;
}

/**
 * dockerd's SIGHUP: the file read again (its conflicts with the flags refused again), and what
 * of it dockerd reloads applied; anything wrong leaves the running configuration as it was.
 * Resolves to the settings now in force.
 */
async function reloadConfig(daemon: Daemon, args: Args, current: ReloadableSettings): Promise<ReloadableSettings> {
  const fileName = args.configFile ?? DEFAULT_CONFIG_FILE;
  try {
    const file = readDaemonConfigFile(fileName, args.configFile !== undefined) ?? {};
    mergeDaemonConfig(file, args.flags, fileName);
    validateDaemonConfig(file);
    const settings = reloadedSettings(current, file);
    const authorize = await daemon.server.prepareAuthorizationPlugins(file['authorization-plugins'] ?? args.flags['authorization-plugins'] ?? []);
    const event = await daemon.engine.reload(settings);
    authorize();
    process.stderr.write(`ctrd: Reloaded configuration: ${JSON.stringify(event.Actor.Attributes)}\n`);
    return settings;
  } catch (error) {
    process.stderr.write(`ctrd: reloading the configuration failed (the daemon runs on as it was): ${asCtrError(error).describe()}\n`);
    return current;
  }
}

/** The `ctrd` command (and `ctr daemon`): serve until SIGINT/SIGTERM, reload on SIGHUP. Returns the exit code on failure to start. */
export async function daemonMain(argv: string[]): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (args.help) {
      process.stdout.write(usage());
      return 0;
    }
    const config = loadDaemonConfig({ ...(args.configFile !== undefined ? { file: args.configFile } : {}), flags: args.flags });
    if (args.validate) {
      // dockerd says it on stderr, as `nginx -t` and `sshd -t` do.
      process.stderr.write('configuration OK\n');
      return 0;
    }
    const hosts = config.hosts ?? [];
    for (const host of hosts) if (host.startsWith('unix://')) mkdirSync(path.dirname(host.slice(7)), { recursive: true });
    const settings = engineOptionsFromConfig(config);
    let current: ReloadableSettings = settings;
    const tls = serverTls(config);
    const daemon = await startDaemon({
      ...settings,
      hosts,
      ...(tls ? { tls } : {}),
      ...(config['authorization-plugins'] ? { authorizationPlugins: config['authorization-plugins'] } : {}),
      onInternalError: (error, request) => process.stderr.write(`ctrd: ${request}: ${(error as Error).stack ?? String(error)}\n`),
      onSweep: (result) => {
        const line = sweepLine(result);
        if (line !== undefined) process.stderr.write(`ctrd: ${line}\n`);
      },
      // dockerd's levels: info and above, debug too with --debug (reloaded on SIGHUP).
      log: daemonLog((line) => process.stderr.write(`ctrd: ${line}\n`), () => (current.debug ? 'debug' : 'info')),
    });
    process.stderr.write(`ctrd: API listening on ${daemon.server.addresses.map((a) => a.host).join(', ')}\n`);
    let reloading = Promise.resolve();
    const onHangup = (): void => {
      reloading = reloading.then(async () => {
        current = await reloadConfig(daemon, args, current);
      });
    };
    process.on('SIGHUP', onHangup);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    process.off('SIGHUP', onHangup);
    await reloading;
    await daemon.stop();
    return 0;
  } catch (error) {
    const e = asCtrError(error);
    process.stderr.write(`ctrd: ${e.describe()}\n`);
    return 1;
  }
}
