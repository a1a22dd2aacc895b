import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type LocalCtr } from './local-ctr';

// What docker 28's CLI prints when a verb fails, compared with it driving ctrd: the daemon's
// answers as `Error response from daemon: …`, its own refusals as they are, exit status 1.

let ctr: LocalCtr;
let dir: string;
beforeAll(async () => {
  ctr = await localCtr('error-wording');
  dir = await mkdtemp(join(tmpdir(), 'ctr-error-wording-'));
});
afterAll(async () => {
  await ctr.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const NO_SUCH = 'Error response from daemon: No such container: nosuch\n';

/** A container that ran `true` and exited: its full ID. */
async function exited(): Promise<string> {
  const { stdout } = await ctr.run('create', '--network', 'none', 'busybox', 'true');
  const id = stdout.trim();
  expect((await ctr.run('start', '-a', id)).code).toBe(0);
  return id;
}

/** An image of its own (its ID no other image has), named `name`: its full ID. */
async function ownImage(name: string): Promise<string> {
  const maker = (await ctr.run('create', '--network', 'none', 'busybox', 'true')).stdout.trim();
  const { stdout } = await ctr.run('commit', '--change', `LABEL made-for=${name}`, maker, name);
  await ctr.run('rm', maker);
  return stdout.trim();
}

const short = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);

describe('an unknown container is the daemon’s answer', () => {
  test.each([
    ['top', ['top', 'nosuch']],
    ['attach', ['attach', 'nosuch']],
    ['diff', ['diff', 'nosuch']],
    ['export', ['export', 'nosuch']],
    ['commit', ['commit', 'nosuch']],
    ['port', ['port', 'nosuch']],
    ['stats', ['stats', '--no-stream', 'nosuch']],
    ['wait', ['wait', 'nosuch']],
    ['cp from it', ['cp', 'nosuch:/etc/passwd', join(tmpdir(), 'ctr-error-wording-out')]],
    ['cp into it', ['cp', __filename, 'nosuch:/tmp/']],
  ])('%s', async (_verb, args) => {
    expect(await ctr.run(...args)).toEqual({ code: 1, stdout: '', stderr: NO_SUCH });
  });
});

test('top of a container that is not running is the daemon’s conflict', async () => {
  const id = await exited();
  expect(await ctr.run('top', id)).toEqual({ code: 1, stdout: '', stderr: `Error response from daemon: Container ${id} is not running\n` });
});

test('attach to a stopped container is refused in docker attach’s words, without waiting', async () => {
  const id = await exited();
  expect(await ctr.run('attach', id)).toEqual({ code: 1, stdout: '', stderr: 'You cannot attach to a stopped container, start it first\n' });
});

test('wait prints every exit code, then the containers it could not wait on', async () => {
  const id = await exited();
  expect(await ctr.run('wait', id, 'nosuch', id)).toEqual({ code: 1, stdout: '0\n0\n', stderr: NO_SUCH });
});

test('stats of containers not all there shows nothing and names each that is missing', async () => {
  const id = await exited();
  expect(await ctr.run('stats', '--no-stream', 'nosuch', id, 'nosuch2')).toEqual({
    code: 1,
    stdout: '',
    stderr: `${NO_SUCH}Error response from daemon: No such container: nosuch2\n`,
  });
});

test('run -it with input that is not a terminal is refused before anything is made, as docker’s CheckTty', async () => {
  const before = (await ctr.run('ps', '-aq')).stdout;
  expect(await ctr.run('run', '--rm', '-it', '--network', 'none', 'busybox', 'true')).toEqual({ code: 1, stdout: '', stderr: 'the input device is not a TTY\n' });
  expect((await ctr.run('ps', '-aq')).stdout).toBe(before);
});

test('exec -it with input that is not a terminal is refused; without -t the input is piped', async () => {
  const id = (await ctr.run('run', '-d', '--network', 'none', 'busybox', 'sleep', '300')).stdout.trim();
  expect(await ctr.run('exec', '-it', id, 'true')).toEqual({ code: 1, stdout: '', stderr: 'the input device is not a TTY\n' });
  expect((await ctr.run('exec', '-i', id, 'true')).code).toBe(0);
  await ctr.run('rm', '-f', id);
});

test('network create with a driver nobody has heard of is dockerd’s plugin answer, and makes nothing', async () => {
  expect(await ctr.run('network', 'create', '--driver', 'bogus', 'wording-net')).toEqual({
    code: 1,
    stdout: '',
    stderr: 'Error response from daemon: could not find plugin bogus in v1 plugin registry: plugin not found\n',
  });
  expect((await ctr.run('network', 'ls', '-q', '--filter', 'name=wording-net')).stdout).toBe('');
});

test('rm of an unknown container fails, naming it', async () => {
  expect(await ctr.run('rm', 'nosuch')).toEqual({ code: 1, stdout: '', stderr: NO_SUCH });
});

test('rm -f of an unknown container says so and succeeds: what was asked for is true', async () => {
  const id = await exited();
  expect(await ctr.run('rm', '-f', 'nosuch', id)).toEqual({ code: 0, stdout: `${id}\n`, stderr: NO_SUCH });
});

test('rename of an unknown container says the daemon’s answer, then that the rename failed', async () => {
  expect(await ctr.run('rename', 'nosuch', 'other-name')).toEqual({ code: 1, stdout: '', stderr: `${NO_SUCH}Error: failed to rename container named nosuch\n` });
});

test('rename to a blank name is refused before the daemon is asked', async () => {
  expect(await ctr.run('rename', 'nosuch', ' ')).toEqual({ code: 1, stdout: '', stderr: 'Error: Neither old nor new names may be empty\n' });
});

test('commit to an invalid reference is refused before the container is looked up', async () => {
  expect(await ctr.run('commit', 'nosuch', 'BAD:tag')).toEqual({ code: 1, stdout: '', stderr: 'invalid reference format: repository name (library/BAD) must be lowercase\n' });
});

test('commit to a digest reference is refused', async () => {
  expect(await ctr.run('commit', 'nosuch', `app@sha256:${'a'.repeat(64)}`)).toEqual({ code: 1, stdout: '', stderr: 'refusing to create a tag with a digest reference\n' });
});

test('cp of a local source that is not there names the first missing part of its path', async () => {
  const missing = join(dir, 'absent');
  expect(await ctr.run('cp', join(missing, 'file'), 'nosuch:/tmp/')).toEqual({ code: 1, stdout: '', stderr: `lstat ${missing}: no such file or directory\n` });
});

test('cp to a local directory that is not there is refused before the container is looked up', async () => {
  const missing = join(dir, 'absent');
  expect(await ctr.run('cp', 'nosuch:/etc/passwd', join(missing, 'passwd'))).toEqual({ code: 1, stdout: '', stderr: `invalid output path: directory "${missing}" does not exist\n` });
});

test('cp of a directory onto a file says it cannot copy a directory', async () => {
  const id = await exited();
  const file = join(dir, 'a-file');
  await writeFile(file, 'x');
  expect(await ctr.run('cp', `${id}:/etc`, file)).toEqual({ code: 1, stdout: '', stderr: 'cannot copy directory\n' });
});

test('export into a directory that is not there is refused before the container is looked up', async () => {
  const missing = join(dir, 'absent');
  expect(await ctr.run('export', '-o', join(missing, 'out.tar'), 'nosuch')).toEqual({
    code: 1,
    stdout: '',
    stderr: `failed to export container: invalid output path: stat ${missing}: no such file or directory\n`,
  });
});

test('rmi of the one name of an image a container uses names the container', async () => {
  const image = await ownImage('wording-named:1');
  const user = (await ctr.run('create', '--network', 'none', 'wording-named:1', 'true')).stdout.trim();
  expect(await ctr.run('rmi', 'wording-named:1')).toEqual({
    code: 1,
    stdout: '',
    stderr: `Error response from daemon: conflict: unable to remove repository reference "wording-named:1" (must force) - container ${short(user)} is using its referenced image ${short(image)}\n`,
  });
});

test('rmi by ID of an image a stopped container uses must be forced', async () => {
  const image = await ownImage('wording-stopped:1');
  const user = (await ctr.run('create', '--network', 'none', 'wording-stopped:1', 'true')).stdout.trim();
  expect(await ctr.run('rmi', short(image))).toEqual({
    code: 1,
    stdout: '',
    stderr: `Error response from daemon: conflict: unable to delete ${short(image)} (must be forced) - image is being used by stopped container ${short(user)}\n`,
  });
});

test('rmi -f by ID of an image a running container uses cannot be forced', async () => {
  const image = await ownImage('wording-running:1');
  const user = (await ctr.run('run', '-d', '--network', 'none', 'wording-running:1', 'sleep', '60')).stdout.trim();
  expect(await ctr.run('rmi', '-f', short(image))).toEqual({
    code: 1,
    stdout: '',
    stderr: `Error response from daemon: conflict: unable to delete ${short(image)} (cannot be forced) - image is being used by running container ${short(user)}\n`,
  });
  expect((await ctr.run('image', 'inspect', '-f', '{{.Id}}', short(image))).stdout).toBe(`${image}\n`);
  await ctr.run('rm', '-f', user);
});

test('rmi -f of the one name of an image only a stopped container uses deletes the image, as dockerd; the container runs on', async () => {
  const image = await ownImage('wording-forced:1');
  const user = (await ctr.run('create', '--network', 'none', 'wording-forced:1', 'echo', 'still runs')).stdout.trim();
  expect(await ctr.run('rmi', '-f', 'wording-forced:1')).toEqual({ code: 0, stdout: `Untagged: wording-forced:1\nDeleted: ${image}\n`, stderr: '' });
  expect((await ctr.run('image', 'inspect', short(image))).code).toBe(1);
  expect(await ctr.run('start', '-a', user)).toMatchObject({ code: 0, stdout: 'still runs\n' });
  await ctr.run('rm', user);
});

test('rmi -f of the one name of an image a running container uses untags it and keeps the image', async () => {
  const image = await ownImage('wording-kept:1');
  const user = (await ctr.run('run', '-d', '--network', 'none', 'wording-kept:1', 'sleep', '60')).stdout.trim();
  expect(await ctr.run('rmi', '-f', 'wording-kept:1')).toEqual({ code: 0, stdout: 'Untagged: wording-kept:1\n', stderr: '' });
  expect((await ctr.run('image', 'inspect', '-f', '{{.Id}}', short(image))).stdout).toBe(`${image}\n`);
  await ctr.run('rm', '-f', user);
});

test('ps shows a container made from a full image ID by the ID cut short, whole with --no-trunc', async () => {
  const image = await ownImage('wording-by-id:1');
  expect((await ctr.run('create', '--network', 'none', '--name', 'by-image-id', image, 'true')).code).toBe(0);
  const column = async (...flags: string[]): Promise<string> => (await ctr.run('ps', '-a', ...flags, '--filter', 'name=by-image-id', '--format', '{{.Image}}')).stdout;
  expect(await column()).toBe(`${short(image)}\n`);
  expect(await column('--no-trunc')).toBe(`${image}\n`);
});

describe('run and create, as docker 28 frames what they refuse', () => {
  test("run frames the daemon's answer: `ctr: `, the answer, where to read more; status 125", async () => {
    expect(await ctr.run('run', '--pull', 'never', 'wording-no-such-image')).toEqual({
      code: 125,
      stdout: '',
      stderr: "ctr: Error response from daemon: No such image: wording-no-such-image:latest\n\nRun 'ctr run --help' for more information\n",
    });
  });

  test('run frames a flag value it refuses itself, without the daemon’s words; status 125', async () => {
    expect(await ctr.run('container', 'run', '--pull', 'sometimes', 'busybox')).toEqual({
      code: 125,
      stdout: '',
      stderr: 'ctr: invalid pull option: \'sometimes\': must be one of "always", "missing" or "never"\n\nRun \'ctr run --help\' for more information\n',
    });
  });

  test('run frames a name it cannot read, before the daemon is asked', async () => {
    expect(await ctr.run('run', '--pull', 'never', 'BAD')).toEqual({
      code: 125,
      stdout: '',
      stderr: "ctr: invalid reference format: repository name (library/BAD) must be lowercase\n\nRun 'ctr run --help' for more information\n",
    });
  });

  test("create says the daemon's answer as it is, status 1", async () => {
    expect(await ctr.run('create', '--pull', 'never', 'wording-no-such-image')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error response from daemon: No such image: wording-no-such-image:latest\n',
    });
  });

  test('create frames its refused flag values as run does, naming itself; status 125', async () => {
    expect(await ctr.run('create', '--pull', 'sometimes', 'busybox')).toEqual({
      code: 125,
      stdout: '',
      stderr: 'ctr: invalid pull option: \'sometimes\': must be one of "always", "missing" or "never"\n\nRun \'ctr create --help\' for more information\n',
    });
  });

  test('create says a name it cannot read bare, status 1', async () => {
    expect(await ctr.run('create', '--pull', 'never', 'BAD')).toEqual({ code: 1, stdout: '', stderr: 'invalid reference format: repository name (library/BAD) must be lowercase\n' });
  });
});

test("tag to a name that cannot be read is refused in docker's client's words, before the image is looked up", async () => {
  expect(await ctr.run('tag', 'nosuch', 'BAD')).toEqual({
    code: 1,
    stdout: '',
    stderr: 'Error parsing reference: "BAD" is not a valid repository/tag: invalid reference format: repository name (library/BAD) must be lowercase\n',
  });
});

test("logs --since and --until that are no time or duration are refused in docker's client's words", async () => {
  const id = await exited();
  expect(await ctr.run('logs', '--since', '10x', id)).toEqual({ code: 1, stdout: '', stderr: 'invalid value for "since": failed to parse value as time or duration: "10x"\n' });
  expect(await ctr.run('logs', '--until', '10x', id)).toEqual({ code: 1, stdout: '', stderr: 'invalid value for "until": failed to parse value as time or duration: "10x"\n' });
});

test('history of an image not here is the daemon’s answer', async () => {
  expect(await ctr.run('history', 'wording-no-such-image')).toEqual({ code: 1, stdout: '', stderr: 'Error response from daemon: No such image: wording-no-such-image:latest\n' });
});
