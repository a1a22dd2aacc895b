import type { Command } from '../command';

/** Filled in when the engine's build backend lands. */
export const buildCommand: Command = {
  name: 'build',
  aliases: ['ctr image build', 'ctr builder build'],
  usage: '[OPTIONS] PATH | -',
  description: 'Build an image from a Dockerfile',
  flags: [],
  args: [1, 1],
  async run() {
    return 125;
  },
};
