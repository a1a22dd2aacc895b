import type { Command } from '../command';
import { rootFlags } from '../context';

/** @ctr/api, loaded only for the daemon commands. */
function apiModule(): typeof import('@ctr/api') {
  return require('@ctr/api') as typeof import('@ctr/api');
}

/** `ctr daemon`: ctrd, the Docker Engine API for this root, until interrupted. Its flags are ctrd's. */
export const daemonCommand: Command = {
  name: 'daemon',
  usage: '[OPTIONS]',
  description: 'Serve the Docker Engine API (what ctrd does), so docker, docker-compose and dockerode can drive ctr',
  flags: [],
  passThrough: true,
  args: [0, Infinity],
  async run(args) {
    return apiModule().daemonMain([...rootFlags(), ...args.positionals]);
  },
};

/** `ctr system dial-stdio`: what `docker -H ssh://…` runs on the far side to reach the daemon. */
export const dialStdioCommand: Command = {
  name: 'dial-stdio',
  usage: '',
  description: "Proxy the stdio stream to the daemon connection (used by ssh:// hosts)",
  flags: [{ name: 'host', short: 'H', type: 'string', description: 'Daemon socket to connect to', default: 'unix:///run/ctr/ctr.sock' }],
  args: [0, 0],
  async run(args, io) {
    const host = typeof args.flags.host === 'string' ? args.flags.host : 'unix:///run/ctr/ctr.sock';
    await apiModule().dialStdio(host.replace(/^unix:\/\//, ''), io.stdin, io.stdout);
    return 0;
  },
};
