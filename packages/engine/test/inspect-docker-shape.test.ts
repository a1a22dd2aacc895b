import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { collector, testEngine, type TestEngine } from './fixture';

/**
 * `docker inspect` as dockerd 28 (API 1.50) shapes it: the container's own command in
 * Path/Args (`--init` shows only in HostConfig.Init), Config's fields with moby's nulls,
 * omissions and order, ExecIDs.
 */
describe('container inspect in dockerd\'s shape (runc)', () => {
  let t: TestEngine;
  let dir: string;
  beforeAll(async () => {
    t = await testEngine();
    dir = await mkdtemp(join(tmpdir(), 'ctr-inspect-shape-'));
    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nWORKDIR /srv/app\n');
    await t.engine.build({ context: dir, tags: ['workdir:1'] });
  });
  afterAll(async () => {
    await t?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const c of await t.engine.ps({ all: true })) await t.engine.remove(c.Id, { force: true });
  });

  describe('--init', () => {
    test('Path and Args are the container\'s command; Init is in HostConfig', async () => {
      const { id } = await t.engine.create({ image: 'busybox', network: 'none', init: true, cmd: ['sleep', '300'] });
      const info = await t.engine.inspect(id);
      expect([info.Path, info.Args, info.HostConfig.Init]).toEqual(['sleep', ['300'], true]);
    });

    test('ps shows the container\'s command', async () => {
      const { id } = await t.engine.create({ image: 'busybox', network: 'none', init: true, cmd: ['sleep', '300'] });
      expect((await t.engine.ps({ all: true })).find((c) => c.Id === id)?.Command).toBe('sleep 300');
    });

    test('the init still runs as PID 1, with the command under it', async () => {
      const { id } = await t.engine.run({ image: 'busybox', network: 'none', init: true, cmd: ['sleep', '300'], detach: true });
      const out = collector();
      await t.engine.exec(id, { cmd: ['cat', '/proc/1/cmdline'], stdout: out });
      expect(out.text().split('\0')).toEqual(['/sbin/docker-init', '--', 'sleep', '300', '']);
    });
  });

  describe('Config', () => {
    test('WorkingDir is empty when neither the container nor its image sets one', async () => {
      const { id } = await t.engine.create({ image: 'busybox', network: 'none' });
      expect((await t.engine.inspect(id)).Config.WorkingDir).toBe('');
    });

    test('WorkingDir is the image\'s, or the container\'s own', async () => {
      const fromImage = await t.engine.create({ image: 'workdir:1', network: 'none' });
      const own = await t.engine.create({ image: 'workdir:1', network: 'none', workingDir: '/tmp' });
      expect([(await t.engine.inspect(fromImage.id)).Config.WorkingDir, (await t.engine.inspect(own.id)).Config.WorkingDir]).toEqual(['/srv/app', '/tmp']);
    });

    test('ExposedPorts is absent without any; OnBuild is null', async () => {
      const { id } = await t.engine.create({ image: 'busybox', network: 'none' });
      const { Config } = await t.engine.inspect(id);
      expect('ExposedPorts' in Config).toBe(false);
      expect(Config.OnBuild).toBeNull();
    });

    test('comes after Mounts, its fields in moby\'s order', async () => {
      const { id } = await t.engine.create({ image: 'busybox', network: 'none', cmd: ['true'] });
      const info = await t.engine.inspect(id);
      const keys = Object.keys(info);
      expect(keys.slice(keys.indexOf('AppArmorProfile'))).toEqual(['AppArmorProfile', 'ExecIDs', 'HostConfig', 'GraphDriver', 'Mounts', 'Config', 'NetworkSettings']);
      expect(Object.keys(info.Config)).toEqual([
        'Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'OpenStdin', 'StdinOnce',
        'Env', 'Cmd', 'Image', 'Volumes', 'WorkingDir', 'Entrypoint', 'OnBuild', 'Labels',
      ]);
    });
  });

  describe('HostConfig', () => {
    test('CapAdd and CapDrop are null when none are given', async () => {
      const { id } = await t.engine.create({ image: 'busybox', network: 'none', capAdd: [], capDrop: [] });
      const { HostConfig } = await t.engine.inspect(id);
      expect([HostConfig.CapAdd, HostConfig.CapDrop]).toEqual([null, null]);
    });

    test('Dns, DnsOptions and DnsSearch are empty lists when none are given', async () => {
      const { id } = await t.engine.create({ image: 'busybox', network: 'none' });
      const { HostConfig } = await t.engine.inspect(id);
      expect([HostConfig.Dns, HostConfig.DnsOptions, HostConfig.DnsSearch]).toEqual([[], [], []]);
    });
  });

  describe('ExecIDs', () => {
    test('null without an exec running', async () => {
      const { id } = await t.engine.run({ image: 'busybox', network: 'none', cmd: ['sleep', '300'], detach: true });
      await t.engine.exec(id, { cmd: ['true'] });
      expect((await t.engine.inspect(id)).ExecIDs).toBeNull();
    });

    test('lists an exec while it runs', async () => {
      const { id } = await t.engine.run({ image: 'busybox', network: 'none', cmd: ['sleep', '300'], detach: true });
      const out = collector();
      // The exec reports it is running, then waits for its input to end: inspect looks meanwhile.
      const input = new PassThrough();
      const exec = t.engine.exec(id, { execId: 'exec-under-test', cmd: ['sh', '-c', 'echo started; cat'], stdin: input, stdout: out });
      await new Promise<void>((resolve) => out.on('data', () => resolve()));
      const seen = (await t.engine.inspect(id)).ExecIDs;
      input.end();
      await exec;
      expect(seen).toEqual(['exec-under-test']);
      expect((await t.engine.inspect(id)).ExecIDs).toBeNull();
    });
  });
});
