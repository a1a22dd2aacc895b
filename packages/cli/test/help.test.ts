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
