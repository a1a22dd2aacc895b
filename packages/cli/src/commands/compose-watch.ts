import type { AttachEvent, ComposeApi, ComposeProject, WatchOptions } from '@ctr/compose';
import type { Command, Io } from '../command';
import { bool } from '../flags';
import { composeLibrary, untilInterrupted, type ComposeSession } from './compose-cli';
import { buildOutput } from './compose-lifecycle';
import { buildLines, ComposeProgressView, LogPrinter, progressMode, warn } from './compose-output';

/** docker compose's watch, and what `up --watch` shares with it. */

/** What a watch's steps show, compose's way: its `#watch` log lines, its warnings as logrus's, the rebuilds' progress as plain lines. */
export interface WatchOutput {
  /** Where the watch's lines go (with `up`'s prefixes, or plain). */
  printer: LogPrinter;
  /** `--quiet`: no build output. */
  quiet: boolean;
  /** An attached `up --watch`: the containers a rebuild recreates, attached. */
  onAttach?: (event: AttachEvent) => void;
}

/**
 * Runs the watch until `signal` aborts, shown on `session`'s streams. The progress of a
 * rebuild's recreation comes as plain lines even on a terminal: a redrawn block would tear
 * the log lines the watch and the containers keep printing below it.
 */
export async function runWatch(session: ComposeSession, compose: ComposeApi, services: readonly string[], signal: AbortSignal, output: WatchOutput, prune: boolean): Promise<void> {
  const { io } = session;
  const mode = progressMode(session.globals.progress, session.globals.ansi, io.stderr);
  const view = new ComposeProgressView(io.stderr, mode === 'tty' ? 'plain' : mode, false, session.globals.dryRun);
  const text = composeLibrary().watchEventText;
  const options: WatchOptions = {
    ...(services.length ? { services: [...services] } : {}),
    signal,
    prune,
    stdout: io.stdout,
    stderr: io.stderr,
    onProgress: view.update,
    onEvent: (event) => {
      // compose logs these two through logrus, as warnings; the rest through its log consumer.
      if (event.type === 'warning' || (event.type === 'failed' && event.step === 'changes')) warn(io, text(event), session.started);
      else output.printer.watch(text(event));
    },
    ...(output.quiet ? {} : { onBuildOutput: buildLines(compose.project, (line) => output.printer.watch(line)) }),
    ...(output.onAttach ? { onAttach: output.onAttach } : {}),
  };
  try {
    await compose.watch(options);
  } finally {
    view.stop();
  }
}

/**
 * The project `watch` brings up first: the services with both a `build` and a `develop`
 * section built again (compose gives them `pull_policy: build`), so they run the files as they are now.
 */
function withWatchBuilds(project: ComposeProject): ComposeProject {
  // compose's `service.Develop != nil`: the `develop` key alone, not the `x-develop` it still reads rules from.
  const hasDevelop = (service: object): boolean => Boolean((service as { develop?: unknown }).develop);
  const services = Object.fromEntries(
    Object.entries(project.services).map(([name, service]) => [name, service.build && hasDevelop(service) ? { ...service, pull_policy: 'build' as const } : service]),
  );
  return { ...project, services };
}

function watch(session: ComposeSession): Command {
  return {
    name: 'watch',
    usage: '[SERVICE...]',
    description: 'Watch build context for service and rebuild/refresh containers when files are updated',
    flags: [
      { name: 'no-up', type: 'bool', description: 'Do not build & start services before watching' },
      { name: 'prune', type: 'bool', description: 'Prune dangling images on rebuild', default: true },
      { name: 'quiet', type: 'bool', description: 'hide build output' },
    ],
    async run(args, io: Io) {
      const services = args.positionals;
      const project = await session.load(services);
      // compose's errors for what cannot be watched come before anything is built or started.
      await composeLibrary().watchRules(project, { services });
      if (!bool(args, 'no-up')) {
        const starting = await session.compose(withWatchBuilds(project));
        await session.withProgress((view) =>
          starting.up({ ...(services.length ? { services } : {}), ...(bool(args, 'quiet') ? {} : buildOutput(view, project)), onProgress: view.update }),
        );
      }
      const compose = await session.compose(project);
      const printer = new LogPrinter(io, { color: false, prefix: false, timestamps: false });
      return untilInterrupted(async (signal) => {
        await runWatch(session, compose, services, signal, { printer, quiet: bool(args, 'quiet') }, bool(args, 'prune'));
        // Stopped by Ctrl-C or SIGTERM, as compose's commands are: 130.
        return signal.aborted ? 130 : 0;
      });
    },
  };
}

export function watchCommands(session: ComposeSession): Command[] {
  return [watch(session)];
}
