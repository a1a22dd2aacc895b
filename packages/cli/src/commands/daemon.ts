import { invalidArgument } from '@ctr/errors';
import type { Command } from '../command';
import { apiModule, currentEndpoint, daemonFlags } from '../context';

const DEFAULT_SOCKET = 'unix:///run/ctr/ctr.sock';

/** `ctr daemon`: ctrd, the Docker Engine API for this root, until interrupted. Its flags are ctrd's. */
export const daemonCommand: Command = {
  name: 'daemon',
  usage: '[OPTIONS]',
  description: 'Serve the Docker Engine API (what ctrd does), so docker, docker-compose and dockerode can drive ctr',
  flags: [],
  passThrough: true,
  args: [0, Infinity],
  async run(args) {
    return apiModule().daemonMain([...daemonFlags(), ...args.positionals]);
  },
};

/** `ctr system dial-stdio`: what `docker -H ssh://…` runs on the far side to reach the daemon. */
export const dialStdioCommand: Command = {
  name: 'dial-stdio',
  usage: '',
  description: "Proxy the stdio stream to the daemon connection (used by ssh:// hosts)",
  flags: [{ name: 'host', short: 'H', type: 'string', description: `Daemon socket to connect to (default: the global -H, $CTR_HOST or ${DEFAULT_SOCKET})` }],
  args: [0, 0],
  async run(args, io) {
    // `ctr -H unix:///x.sock system dial-stdio` (docker's form) and `ctr system dial-stdio -H …` both name the socket.
    const where = typeof args.flags.host === 'string' ? undefined : await currentEndpoint();
    const host = typeof args.flags.host === 'string' ? args.flags.host : where?.kind === 'remote' ? where.host : DEFAULT_SOCKET;
    if (!host.startsWith('unix://')) throw invalidArgument(`dial-stdio reaches a local unix socket, not ${host}`);
    await apiModule().dialStdio(host.slice('unix://'.length), io.stdin, io.stdout);
    // The daemon closed its side: stop reading, so the process exits and the SSH channel sees EOF.
    io.stdin.unpipe();
    io.stdin.destroy();
    return 0;
  },
};
