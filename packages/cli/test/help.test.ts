import type { Command, CommandGroup } from '../src/command';
import { commandHelp, groupHelp, mainHelp } from '../src/help';
import { cleanEnv, ctr, type Result } from './remote-fixture';

const cp: Command = {
  name: 'cp',
  usage: 'CONTAINER:SRC_PATH DEST_PATH',
  description: "Copy files/folders between a container and the local filesystem\n\nUse '-' as the source to read a tar archive from stdin.",
  flags: [],
  run: async () => 0,
};

describe('help text like docker', () => {
  test("a group's listing shows only the first line of each command's description", () => {
    const group: CommandGroup = { name: 'container', description: 'Manage containers', commands: [cp] };
    const listing = groupHelp(group);
    expect(listing).toContain('  cp   Copy files/folders between a container and the local filesystem\n');
    expect(listing).not.toContain("Use '-'");
  });

  test("the main help lists the top-level commands outside the common ones under Commands, by name, after the groups", () => {
    const command = (name: string): Command => ({ ...cp, name, description: `${name} things` });
    const group: CommandGroup = { name: 'container', description: 'Manage containers', commands: [cp] };
    const help = mainHelp([command('run')], [command('wait'), command('attach')], [group], []);
    expect(help.indexOf('Management Commands:')).toBeLessThan(help.indexOf('\nCommands:'));
    expect(help).toContain('Commands:\n  attach   attach things\n  wait     wait things\n');
  });

  test("a command's own help shows its whole description", () => {
    expect(commandHelp('ctr container cp', cp)).toContain("Use '-' as the source to read a tar archive from stdin.");
  });
});

describe('help laid out as cobra lays it out', () => {
  const flagged: Command = {
    ...cp,
    flags: [
      { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress output' },
      { name: 'all', short: 'a', type: 'bool', description: 'Show all' },
      { name: 'platform', type: 'string', description: 'First line\nsecond line' },
    ],
  };
  const runMain = (args: string[]): Promise<Result> => ctr(args, { env: cleanEnv() });

  test("a command's options are sorted by long name", () => {
    expect(commandHelp('ctr x', flagged)).toMatch(/--all[\s\S]*--platform[\s\S]*--quiet/);
  });

  test('--help is not listed among the options, as docker hides it', async () => {
    expect(commandHelp('ctr x', flagged)).not.toMatch(/^ +--help /m);
    expect((await runMain(['--help'])).stdout).not.toMatch(/^ +--help /m);
  });

  test('a command without flags shows no Options section', () => {
    expect(commandHelp('ctr container cp', cp)).not.toContain('Options:');
  });

  test("a description's further lines start under its column", () => {
    expect(commandHelp('ctr x', flagged)).toContain('      --platform string   First line\n                          second line\n');
  });

  test("a group's sub-commands are listed by name", () => {
    const command = (name: string): Command => ({ ...cp, name, description: `${name} things` });
    const group: CommandGroup = { name: 'volume', description: 'Manage volumes', commands: [command('ls'), command('create'), command('rm')] };
    expect(groupHelp(group)).toContain('Commands:\n  create   create things\n  ls       ls things\n  rm       rm things\n');
  });

  test('the main help lists management commands and global options by name', () => {
    const group = (name: string): CommandGroup => ({ name, description: `${name} things`, commands: [cp] });
    const help = mainHelp([], [], [group('volume'), group('container')], [
      { name: 'tls', type: 'bool', description: 'Use TLS' },
      { name: 'debug', short: 'D', type: 'bool', description: 'Debug' },
    ]);
    expect(help).toContain('Management Commands:\n  container   container things\n  volume      volume things\n');
    expect(help).toContain('Global Options:\n  -D, --debug   Debug\n      --tls     Use TLS\n');
  });

  test("push's --disable-content-trust says it skips signing, and --platform's lines line up", async () => {
    const { stdout } = await runMain(['push', '--help']);
    expect(stdout).toContain('      --disable-content-trust   Skip image signing');
    expect(stdout).toContain("\n                                Image index won't be pushed");
  });
});

describe('aliases and usage lines as docker shows them', () => {
  const runMain = (args: string[]): Promise<Result> => ctr(args, { env: cleanEnv() });

  test("a group's form of a top-level command names every form once, the top-level one last", async () => {
    const { stdout } = await runMain(['container', 'ls', '--help']);
    expect(stdout).toContain('Aliases:\n  ctr container ls, ctr container list, ctr container ps, ctr ps\n');
  });

  test('builder prune, which takes no arguments, shows no [OPTIONS] in its usage line', async () => {
    expect(await runMain(['builder', 'prune', 'x'])).toEqual({
      code: 1,
      stdout: '',
      stderr: "ctr: 'ctr builder prune' accepts no arguments\n\nUsage:  ctr builder prune\n\nRun 'ctr builder prune --help' for more information\n",
    });
  });
});
