import type { Command } from '../command';

/**
 * `ctr compose`: docker compose v2's command line. Its own flags come before the sub-command
 * (`ctr compose -f a.yml -p app up -d`), so it parses them itself. All of it, and @ctr/compose,
 * is loaded only when a compose command runs: `ctr run` and `ctr --version` never read it.
 */
export const composeCommand: Command = {
  name: 'compose',
  usage: '[OPTIONS] COMMAND',
  description: 'Docker Compose',
  flags: [],
  passThrough: true,
  run: (args, io) => (require('./compose-cli') as typeof import('./compose-cli')).runCompose(args.positionals, io),
};
