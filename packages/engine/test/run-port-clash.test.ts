/**
 * A `run` whose published host port is taken does what `docker run` does: dockerd publishes
 * ports at the start, so the container is created, its start fails in libnetwork's words
 * (a 500 there, Internal here), and it stays `Created` — unless it was to be removed (`--rm`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { freePort } from '../../../test/support/free-port';
import { freePortRun } from '../../../test/support/free-port-run';
import { isMountPoint } from '../../../test/support/mounts';
import { allocatedRefusal, boundRefusal } from '../../../test/support/port-refusal';
import { testEngine, type TestEngine } from './fixture';
import { tarOf } from './tar-fixture';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
}, 120_000);
afterEach(async () => {
  for (const c of await t.engine.ps({ all: true })) await t.engine.remove(c.Id, { force: true }).catch(() => undefined);
});
afterAll(async () => {
  await t?.cleanup();
});

/** A detached `sleep` publishing `publish`, named `name`. */
const sleeper = (name: string, publish: string, options: { autoRemove?: boolean } = {}): ReturnType<TestEngine['engine']['run']> =>
  t.engine.run({ image: 'busybox', cmd: ['sleep', '300'], name, publish: [publish], detach: true, pull: 'never', ...options });

/** The interfaces on this root's default bridge (the host ends of its containers' veths). */
async function bridgePorts(): Promise<string[]> {
  const bridge = (await t.engine.inspectNetwork('bridge')).Options['com.docker.network.bridge.name'] ?? '';
  return execFileSync('ip', ['-o', 'link', 'show', 'master', bridge], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
}

/** The iptables rules (every table) that name the container. */
function rulesOf(id: string): string[] {
  return execFileSync('iptables-save', { encoding: 'utf8' }).split('\n').filter((line) => line.includes(id));
}

async function listening(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

test('a run whose host port another container publishes fails in docker\'s words and leaves its container created', async () => {
  const port = await freePort();
  await sleeper('clash-holder', `127.0.0.1:${port}:80`);
  const refused = await sleeper('clash-second', `127.0.0.1:${port}:80`).catch((e: unknown) => e);
  expect(refused).toMatchObject({ code: 'Internal', cause: { code: 'Conflict' }, message: expect.stringMatching(allocatedRefusal('clash-second', '127.0.0.1', port)) });
  const { State } = await t.engine.inspect('clash-second');
  expect(State).toMatchObject({ Status: 'created', Running: false, ExitCode: 128, Error: (refused as Error).message });
  const [listed] = await t.engine.ps({ all: true, filters: { name: ['clash-second'] } });
  expect(listed?.Status).toBe('Created');
});

test('a run whose host port a process holds fails in docker\'s words for a failed bind', async () => {
  const port = await freePort();
  const server = await listening(port);
  try {
    await expect(sleeper('clash-bound', `127.0.0.1:${port}:80`)).rejects.toMatchObject({
      code: 'Internal',
      message: expect.stringMatching(boundRefusal('clash-bound', '127.0.0.1', port)),
    });
    expect((await t.engine.inspect('clash-bound')).State.Status).toBe('created');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('a refused run leaves no endpoint, veth, rule, namespace or mount behind, and the store checks clean', async () => {
  const port = await freePort();
  await sleeper('clash-owner', `127.0.0.1:${port}:80`);
  const before = await bridgePorts();
  await sleeper('clash-leak', `127.0.0.1:${port}:80`).catch(() => undefined);
  const { Id, NetworkSettings } = await t.engine.inspect('clash-leak');
  expect(NetworkSettings.Networks['bridge']?.EndpointID).toBe('');
  expect(Object.values((await t.engine.inspectNetwork('bridge')).Containers).map((c) => c.Name)).toEqual(['clash-owner']);
  expect(await bridgePorts()).toEqual(before);
  expect(rulesOf(Id)).toEqual([]);
  expect(existsSync(join(t.runRoot, 'netns', Id))).toBe(false);
  expect(await isMountPoint((await t.engine.inspect(Id)).GraphDriver.Data['MergedDir'] ?? '')).toBe(false);
  expect((await t.engine.systemCheck({ quick: true })).errors).toBe(false);
});

test('the container a refused run left starts once the port is free, publishing it', async () => {
  const port = await freePort();
  const holder = await sleeper('clash-first', `127.0.0.1:${port}:80`);
  await sleeper('clash-later', `127.0.0.1:${port}:80`).catch(() => undefined);
  await t.engine.remove(holder.id, { force: true });
  await t.engine.start('clash-later');
  const { State, NetworkSettings } = await t.engine.inspect('clash-later');
  expect(State).toMatchObject({ Status: 'running', Error: '' });
  expect(NetworkSettings.Ports['80/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(port) }]);
});

test('a stopped container publishing a host range asks for the range again at its start, as dockerd does', async () => {
  const a = await freePortRun(2);
  const range = `127.0.0.1:${a}-${a + 1}:80`;
  await sleeper('range-first', range);
  await t.engine.stop('range-first', { timeout: 0 });
  await sleeper('range-second', range);
  await t.engine.start('range-first');
  const ports = async (name: string): Promise<unknown> => (await t.engine.inspect(name)).NetworkSettings.Ports['80/tcp'];
  expect(await ports('range-second')).toEqual([{ HostIp: '127.0.0.1', HostPort: String(a) }]);
  expect(await ports('range-first')).toEqual([{ HostIp: '127.0.0.1', HostPort: String(a + 1) }]);
  expect((await t.engine.inspect('range-first')).HostConfig.PortBindings).toEqual({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: `${a}-${a + 1}` }] });
});

test('a refused run with autoRemove leaves no container', async () => {
  const port = await freePort();
  await sleeper('clash-kept', `127.0.0.1:${port}:80`);
  await expect(sleeper('clash-removed', `127.0.0.1:${port}:80`, { autoRemove: true })).rejects.toMatchObject({ code: 'Internal' });
  expect((await t.engine.ps({ all: true })).map((c) => c.Names)).toEqual([['/clash-kept']]);
});

test('start of an autoRemove container whose host port is taken fails and removes it, as dockerd\'s containerStart does', async () => {
  const port = await freePort();
  await sleeper('clash-taken', `127.0.0.1:${port}:80`);
  const { id } = await t.engine.create({ image: 'busybox', cmd: ['sleep', '300'], name: 'clash-rm-start', publish: [`127.0.0.1:${port}:80`], autoRemove: true, pull: 'never' });
  await expect(t.engine.start(id)).rejects.toMatchObject({ message: expect.stringMatching(allocatedRefusal('clash-rm-start', '127.0.0.1', port)) });
  await expect(t.engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound' });
});

test('a refused autoRemove run fails for its port even when a file was copied into it before its start (as --use-api-socket does)', async () => {
  const port = await freePort();
  await sleeper('clash-copy-holder', `127.0.0.1:${port}:80`);
  const copied = (id: string): Promise<void> => t.engine.putArchive(id, '/', Readable.from(tarOf({ name: 'copied', type: 'file', mode: 0o644, data: 'x' })));
  const run = t.engine.run({ image: 'busybox', cmd: ['true'], name: 'clash-copied', publish: [`127.0.0.1:${port}:80`], autoRemove: true, pull: 'never', beforeStart: copied });
  await expect(run).rejects.toMatchObject({ message: expect.stringMatching(allocatedRefusal('clash-copied', '127.0.0.1', port)) });
  expect((await t.engine.ps({ all: true })).map((c) => c.Names)).toEqual([['/clash-copy-holder']]);
});

test('a refused autoRemove run whose port is freed before its start runs to its exit code and leaves nothing', async () => {
  const port = await freePort();
  const holder = await sleeper('clash-freed-holder', `127.0.0.1:${port}:80`);
  const freed = async (id: string): Promise<void> => {
    await t.engine.putArchive(id, '/', Readable.from(tarOf({ name: 'copied', type: 'file', mode: 0o644, data: 'x' })));
    await t.engine.remove(holder.id, { force: true });
  };
  const { exitCode } = await t.engine.run({ image: 'busybox', cmd: ['sh', '-c', 'exit 3'], name: 'clash-freed', publish: [`127.0.0.1:${port}:80`], autoRemove: true, pull: 'never', beforeStart: freed });
  expect(exitCode).toBe(3);
  expect(await t.engine.ps({ all: true })).toEqual([]);
});
