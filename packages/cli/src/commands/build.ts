import { promises as fs } from 'node:fs';
import { invalidArgument } from '@ctr/errors';
import type { Command } from '../command';
import { engineModule, getEngine, println } from '../context';
import { bool, list, str } from '../flags';
import { buildStepFlags, buildStepOptions } from './create-flags';

function keyValues(values: string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    // `--build-arg NAME` takes the value from the environment, like docker.
    if (eq === -1) {
      if (env[value] !== undefined) out[value] = env[value] as string;
    } else out[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return out;
}

export const buildCommand: Command = {
  name: 'build',
  aliases: ['ctr image build'],
  usage: '[OPTIONS] PATH | -',
  description: 'Build an image from a Dockerfile',
  flags: [
    { name: 'tag', short: 't', type: 'list', description: 'Name and optionally a tag in the "name:tag" format' },
    { name: 'file', short: 'f', type: 'string', description: "Name of the Dockerfile (default: 'PATH/Dockerfile')" },
    { name: 'build-arg', type: 'list', description: 'Set build-time variables' },
    { name: 'target', type: 'string', description: 'Set the target build stage to build' },
    { name: 'no-cache', type: 'bool', description: 'Do not use cache when building the image' },
    { name: 'label', type: 'list', description: 'Set metadata for an image' },
    { name: 'platform', type: 'string', description: 'Set platform if server is multi-platform capable' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress the build output and print image ID on success' },
    { name: 'network', type: 'string', description: 'Set the networking mode for the RUN instructions during build (none, host)', default: 'none' },
    { name: 'pull', type: 'bool', description: 'Always attempt to pull a newer version of the image' },
    { name: 'rm', type: 'bool', description: 'Remove intermediate containers after a successful build', default: true },
    { name: 'force-rm', type: 'bool', description: 'Always remove intermediate containers' },
    { name: 'iidfile', type: 'string', description: 'Write the image ID to the file' },
    ...buildStepFlags,
  ],
  args: [1, 1],
  async run(args, io) {
    const source = args.positionals[0] as string;
    const file = str(args, 'file');
    // `-f -` reads the Dockerfile from stdin with the context from PATH; `-` as PATH is a context tar on stdin.
    if (source === '-' && file === '-') throw invalidArgument('invalid argument: can\'t use stdin for both build context and dockerfile');
    const dockerfileContent = file === '-' ? await readStdin(io.stdin) : undefined;
    const tags = list(args, 'tag');
    for (const tag of tags) engineModule().normalizeImageName(tag);
    const quiet = bool(args, 'quiet');
    const target = str(args, 'target');
    const platform = str(args, 'platform');
    const iidfile = str(args, 'iidfile');
    // Gone before the build, as docker removes it: a failed build must not leave the last ID for a script to find.
    if (iidfile) await fs.rm(iidfile, { force: true });
    // The Dockerfile package is loaded only when something is built.
    const { formatEvent } = require('@ctr/dockerfile') as typeof import('@ctr/dockerfile');
    const result = await (await getEngine()).build({
      context: source === '-' ? io.stdin : source,
      ...(file && file !== '-' ? { dockerfile: file } : {}),
      ...(dockerfileContent ? { dockerfileContent } : {}),
      ...(target ? { target } : {}),
      ...(platform ? { platform } : {}),
      buildArgs: keyValues(list(args, 'build-arg'), io.env),
      labels: keyValues(list(args, 'label'), {}),
      noCache: bool(args, 'no-cache'),
      allow: { networkHost: str(args, 'network') === 'host' },
      tags,
      steps: buildStepOptions(args),
      ...(quiet ? {} : { onEvent: (event) => io.stdout.write(formatEvent(event)) }),
    });
    if (iidfile) await fs.writeFile(iidfile, result.id);
    if (quiet) println(io, result.id);
    else for (const tag of tags) println(io, `Successfully tagged ${engineModule().familiarImageName(engineModule().normalizeImageName(tag))}`);
    return 0;
  },
};

async function readStdin(stdin: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

