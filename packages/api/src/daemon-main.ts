import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { asCtrError, invalidArgument } from '@ctr/errors';
import {
  DAEMON_OPTIONS,
  DEFAULT_CONFIG_FILE,
  addFlagValue,
  daemonLogLevel,
  daemonOptionOfFlag,
  engineOptionsFromConfig,
  loadDaemonConfig,
  mergeDaemonConfig,
  readDaemonConfigFile,
  reloadedSettings,
  validateDaemonConfig,
  type DaemonConfig,
  type DaemonLogFormat,
  type DaemonLogLevel,
  type FlagConfig,
  type ReloadableSettings,
  type SweepReport,
} from '@ctr/engine';
import { startDaemon, type Daemon } from './daemon';
import type { SwarmLog } from '@ctr/swarm';
import { backgroundErrorLog, daemonLog, errorFields, requestErrorLog } from './daemon-log';

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

/** The start's sweep in the daemon's log: what it removed (nothing when it found nothing), or why it failed. */
function logSweep(log: SwarmLog, result: SweepReport | Error): void {
  if (result instanceof Error) {
    log.log('warn', 'sweeping leftovers of ended processes failed (the daemon serves on)', errorFields(result));
    return;
  }
  const { removedIngests, removedSnapshots, removedImageUses, reclaimed } = result;
  if (removedIngests.length + removedSnapshots.length + removedImageUses.length === 0 && reclaimed === 0) return;
  log.log('info', 'removed leftovers of ended processes', {
    downloads: removedIngests.length,
    'layer-extractions': removedSnapshots.length,
    'image-use-marks': removedImageUses.length,
    'bytes-freed': reclaimed,
  });
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
async function reloadConfig(daemon: Daemon, args: Args, current: ReloadableSettings, log: SwarmLog, setDebug: (on: boolean) => void): Promise<ReloadableSettings> {
  const fileName = args.configFile ?? DEFAULT_CONFIG_FILE;
  log.log('info', 'Got signal to reload configuration', { 'config-file': fileName });
  try {
    const file = readDaemonConfigFile(fileName, args.configFile !== undefined) ?? {};
    mergeDaemonConfig(file, args.flags, fileName);
    validateDaemonConfig(file);
    const settings = reloadedSettings(current, file);
    const authorize = await daemon.server.prepareAuthorizationPlugins(file['authorization-plugins'] ?? args.flags['authorization-plugins'] ?? []);
    const event = await daemon.engine.reload(settings);
    authorize();
    // dockerd's reload of `debug` (log-level and log-format are read at the start only): only a
    // file that names it (reloadedSettings keeps the running one otherwise), against the debug
    // mode in force, not the level (debug.IsEnabled is the mode), so a `--log-level debug` stays
    // through `"debug": false`; turned on, the level is debug; off, info.
    if ((settings.debug === true) !== (current.debug === true)) setDebug(settings.debug === true);
    log.log('info', 'Reloaded configuration', { config: JSON.stringify(event.Actor.Attributes) });
    return settings;
  } catch (error) {
    // The running configuration stays as it was.
    log.log('error', 'Error reloading configuration', errorFields(error));
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
    let level: DaemonLogLevel = daemonLogLevel(config);
    // Bare lines, as dockerd's: journald and syslog name the process, and a JSON line must be JSON only.
    const log = daemonLog((line) => process.stderr.write(`${line}\n`), () => level, { format: config['log-format'] as DaemonLogFormat | undefined, timestamps: true });
    const tls = serverTls(config);
    const background = backgroundErrorLog(log);
    const daemon = await startDaemon({
      ...settings,
      hosts,
      ...(tls ? { tls } : {}),
      ...(config['authorization-plugins'] ? { authorizationPlugins: config['authorization-plugins'] } : {}),
      onInternalError: requestErrorLog(log),
      onBackgroundError: background.failed,
      onBackgroundSuccess: background.succeeded,
      onSweep: (result) => logSweep(log, result),
      log,
    });
    for (const address of daemon.server.addresses) log.log('info', `API listening on ${address.host}`);
    let reloading = Promise.resolve();
    const onHangup = (): void => {
      reloading = reloading.then(async () => {
        current = await reloadConfig(daemon, args, current, log, (on) => {
          level = on ? 'debug' : 'info';
        });
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
    // A start that fails says so plainly, as dockerd prints its own: the log's level or format may be what is wrong.
    const e = asCtrError(error);
    process.stderr.write(`ctrd: ${e.describe()}\n`);
    return 1;
  }
}
