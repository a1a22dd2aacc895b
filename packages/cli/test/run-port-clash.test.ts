/**
 * `ctr run -p` onto a host port that is taken, as `docker run`: the container is created, its
 * start fails with the daemon's words and status 125, and it shows as Created — unless `--rm`.
 */
import { createServer, type Server } from 'node:net';
import { freePort } from '../../../test/support/free-port';
import { allocatedRefusal, boundRefusal } from '../../../test/support/port-refusal';
import { localCtr, type LocalCtr } from './local-ctr';

let ctr: LocalCtr;
beforeAll(async () => {
  ctr = await localCtr('run-port-clash');
});
afterEach(async () => {
  const { stdout } = await ctr.run('ps', '-aq');
  for (const id of stdout.split('\n').filter(Boolean)) await ctr.run('rm', '-f', id);
});
afterAll(async () => {
  await ctr.cleanup();
});

/** As docker's: `run` frames the daemon's answer with the command's name, `start` does not. */
const DAEMON = /^(?:ctr: )?Error response from daemon: /;

/** A detached `sleep` named `name` publishing `publish` (and `more` flags): its result. */
const sleeper = (name: string, publish: string, ...more: string[]): ReturnType<LocalCtr['run']> => ctr.run('run', '-d', ...more, '--name', name, '-p', publish, 'busybox', 'sleep', '300');

/** The first line of `text` without the daemon's prefix, which it must have. */
function fromDaemon(text: string): string {
  const [line = ''] = text.split('\n');
  expect(line).toMatch(DAEMON);
  return line.replace(DAEMON, '');
}

test('run onto a host port another container publishes exits 125 with docker\'s message', async () => {
  const port = await freePort();
  expect((await sleeper('holder', `0.0.0.0:${port}:80`)).code).toBe(0);
  const refused = await sleeper('second', `0.0.0.0:${port}:80`);
  expect(refused.code).toBe(125);
  expect(fromDaemon(refused.stderr)).toMatch(allocatedRefusal('second', '0.0.0.0', port));
});

test('run onto a host port a process holds exits 125 with docker\'s words for a failed bind', async () => {
  const port = await freePort();
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  try {
    const refused = await sleeper('bound', `127.0.0.1:${port}:80`);
    expect(refused.code).toBe(125);
    expect(fromDaemon(refused.stderr)).toMatch(boundRefusal('bound', '127.0.0.1', port));
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('the container of a refused run shows as Created in ps -a', async () => {
  const port = await freePort();
  await sleeper('owner', `127.0.0.1:${port}:80`);
  await sleeper('left', `127.0.0.1:${port}:80`);
  expect((await ctr.run('ps', '-a', '--filter', 'name=left', '--format', '{{.Names}} {{.Status}}')).stdout).toBe('left Created\n');
});

test('start of that container fails the same way while the port is taken, and starts it once the port is free', async () => {
  const port = await freePort();
  await sleeper('taker', `127.0.0.1:${port}:80`);
  await sleeper('waiter', `127.0.0.1:${port}:80`);
  const refused = await ctr.run('start', 'waiter');
  expect(refused.code).toBe(1);
  expect(fromDaemon(refused.stderr)).toMatch(allocatedRefusal('waiter', '127.0.0.1', port));
  expect(refused.stderr).toContain('Error: failed to start containers: waiter');
  expect((await ctr.run('rm', '-f', 'taker')).code).toBe(0);
  expect((await ctr.run('start', 'waiter')).code).toBe(0);
  expect((await ctr.run('port', 'waiter')).stdout).toBe(`80/tcp -> 127.0.0.1:${port}\n`);
});

test('run --rm onto a taken host port exits 125 and leaves no container', async () => {
  const port = await freePort();
  await sleeper('kept', `127.0.0.1:${port}:80`);
  expect((await sleeper('gone', `127.0.0.1:${port}:80`, '--rm')).code).toBe(125);
  expect((await ctr.run('ps', '-a', '--format', '{{.Names}}')).stdout).toBe('kept\n');
});

/** The full ID of the container named `name`, as `ps -a` lists it. */
async function idOf(name: string): Promise<string> {
  return (await ctr.run('ps', '-aq', '--no-trunc', '--filter', `name=^${name}$`)).stdout.trim();
}

test('run -d onto a taken host port prints the container\'s ID, as docker\'s does before its start, then fails', async () => {
  const port = await freePort();
  await sleeper('occupier', `127.0.0.1:${port}:80`);
  const refused = await sleeper('named', `127.0.0.1:${port}:80`);
  expect(refused.code).toBe(125);
  expect(refused.stdout).toBe(`${await idOf('named')}\n`);
  expect(fromDaemon(refused.stderr)).toMatch(allocatedRefusal('named', '127.0.0.1', port));
});

test('run -d that starts prints the container\'s ID once', async () => {
  const port = await freePort();
  const started = await sleeper('once', `127.0.0.1:${port}:80`);
  expect(started.code).toBe(0);
  expect(started.stdout).toBe(`${await idOf('once')}\n`);
});

test('a run\'s refused start is framed as docker 28\'s run frames it: the help line, no period added', async () => {
  const port = await freePort();
  await sleeper('first-come', `127.0.0.1:${port}:80`);
  const { stderr } = await sleeper('framed', `127.0.0.1:${port}:80`);
  const [said = ''] = stderr.split('\n');
  expect(said).toMatch(/^ctr: Error response from daemon: .*port is already allocated$/);
  expect(stderr).toBe(`${said}\n\nRun 'ctr run --help' for more information\n`);
});

test('start of an --rm container whose host port is taken fails and removes it, as dockerd does', async () => {
  const port = await freePort();
  await sleeper('squatter', `127.0.0.1:${port}:80`);
  expect((await ctr.run('create', '--rm', '--name', 'doomed', '-p', `127.0.0.1:${port}:80`, 'busybox', 'sleep', '300')).code).toBe(0);
  const refused = await ctr.run('start', 'doomed');
  expect(refused.code).toBe(1);
  expect(fromDaemon(refused.stderr)).toMatch(allocatedRefusal('doomed', '127.0.0.1', port));
  expect((await ctr.run('ps', '-a', '--format', '{{.Names}}')).stdout).toBe('squatter\n');
});
