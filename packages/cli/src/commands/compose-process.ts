import { invalidArgument } from '@ctr/errors';
import type { Command, Io } from '../command';
import { bool, list, num, str, type FlagSpec, type ParsedArgs } from '../flags';
import { terminalSession } from '../terminal';
import { composeLibrary, type ComposeSession } from './compose-cli';
import { buildOutput } from './compose-lifecycle';
import { buildLines } from './compose-output';
import { keyValues } from './create-flags';

/** docker compose's exec and run (a program in a service's container), build, pull and push. */

/** Whether the program gets a TTY: asked for (no `-T`), and ctr is on a terminal both ways. */
function wantsTty(args: ParsedArgs, io: Io): boolean {
  return !bool(args, 'no-TTY') && io.stdout.isTTY === true && io.stdin.isTTY === true;
}

/** `-i` is on unless `-i=false`: compose keeps stdin open by default. */
const interactiveFlag: FlagSpec = { name: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open even if not attached', default: true };
const noTtyFlag = (what: string): FlagSpec => ({ name: 'no-TTY', short: 'T', type: 'bool', description: `Disable pseudo-TTY allocation (default: auto-detected). By default \`ctr compose ${what}\` allocates a TTY.` });

/** Runs a program on the terminal, in raw mode when it reads the keys of a TTY. */
async function onTerminal<T>(io: Io, raw: boolean, program: () => Promise<T>): Promise<T> {
  const terminal = terminalSession(io, { raw });
  try {
    return await program();
  } finally {
    await terminal.restore();
  }
}

function exec(session: ComposeSession): Command {
  return {
    name: 'exec',
    usage: '[OPTIONS] SERVICE COMMAND [ARGS...]',
    description: 'Execute a command in a running container',
    flags: [
      { name: 'detach', short: 'd', type: 'bool', description: 'Detached mode: Run command in the background' },
      { name: 'env', short: 'e', type: 'list', valueName: 'stringArray', description: 'Set environment variables' },
      { name: 'index', type: 'number', description: 'Index of the container if service has multiple replicas' },
      interactiveFlag,
      noTtyFlag('exec'),
      { name: 'privileged', type: 'bool', description: 'Give extended privileges to the process' },
      { name: 'user', short: 'u', type: 'string', description: 'Run the command as this user' },
      { name: 'workdir', short: 'w', type: 'string', description: 'Path to workdir directory for this command' },
    ],
    stopAtPositional: true,
    args: [2, Infinity],
    async run(args, io) {
      const [service, ...command] = args.positionals as [string, ...string[]];
      const compose = await session.compose(await session.loadOrName([service]));
      const tty = wantsTty(args, io);
      const interactive = bool(args, 'interactive') && !bool(args, 'detach');
      const index = num(args, 'index');
      const user = str(args, 'user');
      const workdir = str(args, 'workdir');
      return onTerminal(io, tty && interactive, () =>
        compose.exec(service, {
          command,
          tty,
          interactive,
          detach: bool(args, 'detach'),
          privileged: bool(args, 'privileged'),
          env: list(args, 'env'),
          ...(index ? { index } : {}),
          ...(user !== undefined ? { user } : {}),
          ...(workdir !== undefined ? { workdir } : {}),
          ...(interactive ? { stdin: io.stdin } : {}),
          stdout: io.stdout,
          stderr: io.stderr,
        }),
      );
    },
  };
}

const PULL_POLICIES = ['always', 'missing', 'never', 'policy'] as const;

function run(session: ComposeSession): Command {
  return {
    name: 'run',
    usage: '[OPTIONS] SERVICE [COMMAND] [ARGS...]',
    description: 'Run a one-off command on a service',
    flags: [
      { name: 'build', type: 'bool', description: 'Build image before starting container' },
      { name: 'detach', short: 'd', type: 'bool', description: 'Run container in background and print container ID' },
      { name: 'entrypoint', type: 'string', description: 'Override the entrypoint of the image' },
      { name: 'env', short: 'e', type: 'list', valueName: 'stringArray', description: 'Set environment variables' },
      interactiveFlag,
      { name: 'label', short: 'l', type: 'list', valueName: 'stringArray', description: 'Add or override a label' },
      { name: 'name', type: 'string', description: 'Assign a name to the container' },
      noTtyFlag('run'),
      { name: 'no-deps', type: 'bool', description: "Don't start linked services" },
      { name: 'publish', short: 'p', type: 'list', valueName: 'stringArray', description: "Publish a container's port(s) to the host" },
      { name: 'pull', type: 'string', description: 'Pull image before running ("always"|"missing"|"never")', default: 'policy' },
      { name: 'rm', type: 'bool', description: 'Automatically remove the container when it exits' },
      { name: 'service-ports', short: 'P', type: 'bool', description: "Run command with all service's ports enabled and mapped to the host" },
      { name: 'user', short: 'u', type: 'string', description: 'Run as specified username or uid' },
      { name: 'volume', short: 'v', type: 'list', valueName: 'stringArray', description: 'Bind mount a volume' },
      { name: 'workdir', short: 'w', type: 'string', description: 'Working directory inside the container' },
    ],
    stopAtPositional: true,
    args: [1, Infinity],
    async run(args, io) {
      const [service, ...command] = args.positionals as [string, ...string[]];
      const pull = str(args, 'pull') ?? 'policy';
      if (!(PULL_POLICIES as readonly string[]).includes(pull)) throw invalidArgument(`invalid --pull option ${JSON.stringify(pull)}`);
      const project = await session.load([service]);
      const compose = await session.compose(project);
      const detach = bool(args, 'detach');
      const tty = wantsTty(args, io);
      const interactive = bool(args, 'interactive') && !detach;
      const entrypoint = str(args, 'entrypoint');
      const name = str(args, 'name');
      const user = str(args, 'user');
      const workdir = str(args, 'workdir');
      const result = await session.withProgress((view) =>
        onTerminal(io, tty && interactive, () =>
          compose.run(service, {
            ...(command.length ? { command } : {}),
            ...(entrypoint !== undefined ? { entrypoint: composeLibrary().shellSplit(entrypoint) } : {}),
            ...(name !== undefined ? { name } : {}),
            ...(user !== undefined ? { user } : {}),
            ...(workdir !== undefined ? { workdir } : {}),
            rm: bool(args, 'rm'),
            detach,
            tty,
            interactive,
            env: list(args, 'env'),
            labels: keyValues(list(args, 'label')),
            publish: list(args, 'publish'),
            servicePorts: bool(args, 'service-ports'),
            volumes: list(args, 'volume'),
            noDeps: bool(args, 'no-deps'),
            build: bool(args, 'build'),
            pull: pull as (typeof PULL_POLICIES)[number],
            ...(interactive ? { stdin: io.stdin } : {}),
            stdout: io.stdout,
            stderr: io.stderr,
            onProgress: view.update,
            ...buildOutput(view, project),
          }),
        ),
      );
      if (detach) {
        io.stdout.write(`${result.container}\n`);
        return 0;
      }
      return result.exitCode ?? 0;
    },
  };
}

/** `--build-arg KEY=VALUE`, or `KEY` for the value in ctr's environment (left out when unset). */
function buildArgs(values: readonly string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq !== -1) out[value.slice(0, eq)] = value.slice(eq + 1);
    else if (env[value] !== undefined) out[value] = env[value] as string;
  }
  return out;
}

function build(session: ComposeSession): Command {
  return {
    name: 'build',
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Build or rebuild services',
    flags: [
      { name: 'build-arg', type: 'list', valueName: 'stringArray', description: 'Set build-time variables for services' },
      { name: 'no-cache', type: 'bool', description: 'Do not use cache when building the image' },
      { name: 'pull', type: 'bool', description: 'Always attempt to pull a newer version of the image' },
      { name: 'quiet', short: 'q', type: 'bool', description: "Don't print anything to STDOUT" },
    ],
    async run(args, io) {
      const services = args.positionals;
      const project = await session.load(services);
      const compose = await session.compose(project);
      const quiet = bool(args, 'quiet');
      await compose.build({
        ...(services.length ? { services } : {}),
        noCache: bool(args, 'no-cache'),
        pull: bool(args, 'pull'),
        buildArgs: buildArgs(list(args, 'build-arg'), io.env),
        // The build's own output is its progress, as docker build's classic output.
        ...(quiet ? {} : { onOutput: buildLines(project, (line) => void io.stderr.write(`${line}\n`)) }),
      });
      return 0;
    },
  };
}

function pull(session: ComposeSession): Command {
  return {
    name: 'pull',
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Pull service images',
    flags: [
      { name: 'ignore-buildable', type: 'bool', description: 'Ignore images that can be built' },
      { name: 'ignore-pull-failures', type: 'bool', description: 'Pull what it can and ignores images with pull failures' },
      { name: 'include-deps', type: 'bool', description: 'Also pull services declared as dependencies' },
      { name: 'policy', type: 'string', description: 'Apply pull policy ("missing"|"always")' },
      { name: 'quiet', short: 'q', type: 'bool', description: 'Pull without printing progress information' },
    ],
    async run(args) {
      const policy = str(args, 'policy');
      if (policy !== undefined && policy !== 'missing' && policy !== 'always') throw invalidArgument(`invalid --policy option ${JSON.stringify(policy)}`);
      const services = args.positionals;
      const compose = await session.compose(await session.load(services));
      await session.withProgress((view) =>
        compose.pull({
          ...(services.length ? { services } : {}),
          ignoreBuildable: bool(args, 'ignore-buildable'),
          ignorePullFailures: bool(args, 'ignore-pull-failures'),
          includeDeps: bool(args, 'include-deps'),
          ...(policy ? { policy } : {}),
          ...(bool(args, 'quiet') ? {} : { onProgress: view.update }),
        }),
      );
      return 0;
    },
  };
}

function push(session: ComposeSession): Command {
  return {
    name: 'push',
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Push service images',
    flags: [
      { name: 'ignore-push-failures', type: 'bool', description: 'Push what it can and ignores images with push failures' },
      { name: 'include-deps', type: 'bool', description: 'Also push images of services declared as dependencies' },
      { name: 'quiet', short: 'q', type: 'bool', description: 'Push without printing progress information' },
    ],
    async run(args) {
      const services = args.positionals;
      const compose = await session.compose(await session.load(services));
      await session.withProgress((view) =>
        compose.push({
          ...(services.length ? { services } : {}),
          ignorePushFailures: bool(args, 'ignore-push-failures'),
          includeDeps: bool(args, 'include-deps'),
          ...(bool(args, 'quiet') ? {} : { onProgress: view.update }),
        }),
      );
      return 0;
    },
  };
}

export function processCommands(session: ComposeSession): Command[] {
  return [exec(session), run(session), build(session), pull(session), push(session)];
}
