import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctrOn, type CtrOn } from './local-ctr';

/** cobra's argument-count errors as docker 28 words and frames them (docker/cli cli/required.go), status 1. */
describe('a wrong number of arguments', () => {
  let root: string;
  let ctr: CtrOn;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ctr-cli-argcount-'));
    ctr = ctrOn(join(root, 'root'), join(root, 'run'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('to a command that takes exactly one says how many, not "exactly"', async () => {
    expect(await ctr.run('logs', 'a', 'b')).toEqual({
      code: 1,
      stdout: '',
      stderr: "ctr: 'ctr logs' requires 1 argument\n\nUsage:  ctr logs [OPTIONS] CONTAINER\n\nRun 'ctr logs --help' for more information\n",
    });
  });

  test('to a command that takes none says it accepts none', async () => {
    expect(await ctr.run('ps', 'x')).toEqual({
      code: 1,
      stdout: '',
      stderr: "ctr: 'ctr ps' accepts no arguments\n\nUsage:  ctr ps [OPTIONS]\n\nRun 'ctr ps --help' for more information\n",
    });
  });

  test('to a command that takes a range names both ends, whichever was missed', async () => {
    const expected = {
      code: 1,
      stdout: '',
      stderr: "ctr: 'ctr port' requires at least 1 and at most 2 arguments\n\nUsage:  ctr port CONTAINER [PRIVATE_PORT[/PROTO]]\n\nRun 'ctr port --help' for more information\n",
    };
    expect(await ctr.run('port')).toEqual(expected);
    expect(await ctr.run('port', 'a', 'b', 'c')).toEqual(expected);
  });

  test('beyond an upper bound names the bound', async () => {
    expect(await ctr.run('images', 'a', 'b')).toEqual({
      code: 1,
      stdout: '',
      stderr: "ctr: 'ctr images' requires at most 1 argument\n\nUsage:  ctr images [OPTIONS] [REPOSITORY[:TAG]]\n\nRun 'ctr images --help' for more information\n",
    });
  });

  test('to container ps names the command by its own name, container ls', async () => {
    expect(await ctr.run('container', 'ps', 'x')).toMatchObject({ code: 1, stderr: expect.stringMatching(/^ctr: 'ctr container ls' accepts no arguments\n/) });
  });
});
