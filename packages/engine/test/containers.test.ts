import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collector, eventually, testEngine, type TestEngine } from './fixture';

describe('engine containers (runc, conmon, overlayfs)', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await testEngine();
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  test('run returns the exit code and streams stdout and stderr apart', async () => {
    const stdout = collector();
    const stderr = collector();
    const result = await t.engine.run({ image: 'busybox', cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'], network: 'none', stdout, stderr, autoRemove: true });
    expect(result.exitCode).toBe(3);
    expect(stdout.text()).toBe('out\n');
    expect(stderr.text()).toBe('err\n');
  });

  test("inspect's Config has the image's user, entrypoint and command where the container gives none, as dockerd merges them", async () => {
    const context = join(t.root, 'merge-context');
    await mkdir(context);
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nUSER 1000\nENTRYPOINT ["sh", "-c"]\nCMD ["echo hi"]\n');
    await t.engine.build({ context, tags: ['merged:1'] });
    const config = async (options: { cmd?: string[]; entrypoint?: string; user?: string }): Promise<unknown> => {
      const { id } = await t.engine.create({ image: 'merged:1', network: 'none', pull: 'never', ...options });
      const { User, Entrypoint, Cmd } = (await t.engine.inspect(id)).Config;
      return { User, Entrypoint, Cmd };
    };
    expect(await config({})).toEqual({ User: '1000', Entrypoint: ['sh', '-c'], Cmd: ['echo hi'] });
    expect(await config({ cmd: ['echo own'], user: '0' })).toEqual({ User: '0', Entrypoint: ['sh', '-c'], Cmd: ['echo own'] });
    expect(await config({ entrypoint: 'env' })).toEqual({ User: '1000', Entrypoint: ['env'], Cmd: null });
  });

  test('autoRemove removes the container after it exits', async () => {
    const { id } = await t.engine.run({ image: 'busybox', cmd: ['true'], network: 'none', autoRemove: true });
    expect((await t.engine.ps({ all: true })).map((c) => c.Id)).not.toContain(id);
  });

  test('a detached container is listed running, logs, stops and is removed', async () => {
    const { id, name } = await t.engine.run({ image: 'busybox', name: 'detached-web', cmd: ['sh', '-c', 'echo ready; exec sleep 60'], network: 'none', detach: true });
    expect(name).toBe('detached-web');
    const running = await t.engine.ps();
    expect(running.find((c) => c.Id === id)).toMatchObject({ Names: ['/detached-web'], State: 'running', Image: 'busybox' });
    const logged = async (): Promise<string[]> => {
      const lines: string[] = [];
      for await (const entry of t.engine.logs('detached-web')) lines.push(entry.line);
      return lines;
    };
    expect(await eventually(logged, (lines) => lines.length > 0)).toEqual(['ready']);
    await t.engine.stop('detached-web', { timeout: 1 });
    expect((await t.engine.inspect(id)).State).toMatchObject({ Status: 'exited', Running: false });
    expect(await t.engine.ps()).not.toContainEqual(expect.objectContaining({ Id: id }));
    await t.engine.remove(id);
    await expect(t.engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound', message: `No such container: ${id}` });
  });

  test('a second container cannot take a name in use', async () => {
    await t.engine.create({ image: 'busybox', name: 'taken', network: 'none' });
    await expect(t.engine.create({ image: 'busybox', name: 'taken', network: 'none' })).rejects.toMatchObject({
      code: 'Conflict',
      message: expect.stringContaining('The container name "/taken" is already in use'),
    });
    await t.engine.remove('taken');
  });

  test('removing a running container is refused unless forced', async () => {
    const { id } = await t.engine.run({ image: 'busybox', cmd: ['sleep', '60'], network: 'none', detach: true });
    await expect(t.engine.remove(id)).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining('container is running: stop the container before removing or force remove') });
    await t.engine.remove(id, { force: true });
    expect((await t.engine.ps({ all: true })).map((c) => c.Id)).not.toContain(id);
  });

  test('exec runs in a running container and returns its exit code', async () => {
    const { id } = await t.engine.run({ image: 'busybox', cmd: ['sleep', '60'], network: 'none', detach: true });
    const stdout = collector();
    const result = await t.engine.exec(id, { cmd: ['sh', '-c', 'echo $GREETING; exit 5'], env: ['GREETING=hi'], stdout });
    expect(result.exitCode).toBe(5);
    expect(stdout.text()).toBe('hi\n');
    await t.engine.remove(id, { force: true });
  });

  test('a missing executable fails with Docker\'s words and exit code 127', async () => {
    await expect(t.engine.run({ image: 'busybox', cmd: ['nope'], network: 'none', autoRemove: true })).rejects.toMatchObject({
      message: expect.stringContaining('exec: "nope": executable file not found in $PATH'),
      details: expect.objectContaining({ exitCode: 127 }),
    });
  });

  test('an unknown container is NotFound', async () => {
    await expect(t.engine.stop('no-such-container')).rejects.toMatchObject({ code: 'NotFound', message: 'No such container: no-such-container' });
  });

  test('an unknown image is NotFound and leaves no container behind', async () => {
    const before = (await t.engine.ps({ all: true })).length;
    await expect(t.engine.create({ image: 'localhost:1/nope:latest', network: 'none', pull: 'never' })).rejects.toMatchObject({ code: 'NotFound' });
    expect((await t.engine.ps({ all: true })).length).toBe(before);
  });

  test('a run whose record cannot be written leaves no container, mount or name behind', async () => {
    const records = join(t.root, 'engine', 'containers');
    const mounts = async (): Promise<number> => (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((line) => line.includes(t.root)).length;
    const containers = (): Promise<string[]> => readdir(join(t.root, 'containers')).catch(() => []);
    const [containersBefore, mountsBefore] = [await containers(), await mounts()];
    await mkdir(records, { recursive: true });
    await rename(records, `${records}.aside`);
    await writeFile(records, '');
    try {
      await expect(t.engine.run({ image: 'busybox', name: 'unrecorded', cmd: ['sleep', '60'], network: 'none', detach: true })).rejects.toThrow();
    } finally {
      await rm(records);
      await rename(`${records}.aside`, records);
    }
    expect(await containers()).toEqual(containersBefore);
    expect(await mounts()).toBe(mountsBefore);
    const { id } = await t.engine.create({ image: 'busybox', name: 'unrecorded', network: 'none' });
    await t.engine.remove(id);
  });

  test('a run whose onCreated throws leaves no container behind and fails with its error', async () => {
    const before = (await t.engine.ps({ all: true })).length;
    const failing = (): void => {
      throw new Error('the caller could not take it');
    };
    await expect(t.engine.run({ image: 'busybox', name: 'refused', cmd: ['true'], network: 'none', onCreated: failing })).rejects.toThrow('the caller could not take it');
    expect((await t.engine.ps({ all: true })).length).toBe(before);
    const { id } = await t.engine.create({ image: 'busybox', name: 'refused', network: 'none' });
    await t.engine.remove(id);
  });

  test('an attached run tells its caller the container was created, then started, while its process still runs', async () => {
    const told: string[] = [];
    const stateWhenStarted: string[] = [];
    let id = '';
    const result = await t.engine.run({
      image: 'busybox',
      cmd: ['sleep', '0.3'],
      network: 'none',
      autoRemove: true,
      onCreated: (created) => {
        id = created.id;
        told.push('created');
      },
      onStarted: () => {
        told.push('started');
        void t.engine.inspect(id).then((info) => stateWhenStarted.push(info.State.Status));
      },
    });
    expect(told).toEqual(['created', 'started']);
    expect(stateWhenStarted).toEqual(['running']);
    expect(result.exitCode).toBe(0);
  });

  test('a named volume keeps its data after the container that wrote it is removed', async () => {
    await t.engine.run({ image: 'busybox', cmd: ['sh', '-c', 'echo kept > /data/file'], volumes: ['keep-me:/data'], network: 'none', autoRemove: true });
    const volume = await t.engine.inspectVolume('keep-me');
    expect(await readFile(`${volume.Mountpoint}/file`, 'utf8')).toBe('kept\n');
    const stdout = collector();
    await t.engine.run({ image: 'busybox', cmd: ['cat', '/data/file'], volumes: ['keep-me:/data:ro'], network: 'none', autoRemove: true, stdout });
    expect(stdout.text()).toBe('kept\n');
    await t.engine.removeVolume('keep-me');
  });

  test('-v binds a host file onto a file path in the container', async () => {
    const file = join(t.root, 'greeting.txt');
    await writeFile(file, 'hello from the host\n');
    const stdout = collector();
    await t.engine.run({ image: 'busybox', cmd: ['cat', '/greeting.txt'], volumes: [`${file}:/greeting.txt:ro`], network: 'none', autoRemove: true, stdout });
    expect(stdout.text()).toBe('hello from the host\n');
  });

  test('a volume in use cannot be removed', async () => {
    const { id } = await t.engine.create({ image: 'busybox', volumes: ['busy-vol:/data'], network: 'none' });
    await expect(t.engine.removeVolume('busy-vol')).rejects.toMatchObject({ code: 'Conflict' });
    await t.engine.remove(id);
    await t.engine.removeVolume('busy-vol');
  });

  test('an image a container uses cannot be deleted without force, but one of its names can be untagged', async () => {
    await t.engine.tag('busybox', 'pinned:1');
    const { id } = await t.engine.create({ image: 'pinned:1', network: 'none' });
    const image = await t.engine.inspectImage('pinned:1');
    await expect(t.engine.removeImage(image.Id)).rejects.toMatchObject({ code: 'Conflict' });
    expect(await t.engine.removeImage('pinned:1')).toEqual([{ Untagged: 'pinned:1' }]);
    await t.engine.remove(id);
  });

  test('ps filters by status, name and label', async () => {
    const { id } = await t.engine.create({ image: 'busybox', name: 'filtered', labels: { tier: 'db' }, network: 'none' });
    expect((await t.engine.ps({ all: true, filters: { status: ['created'] } })).map((c) => c.Id)).toContain(id);
    expect((await t.engine.ps({ all: true, filters: { name: ['filtered'] } })).map((c) => c.Id)).toEqual([id]);
    expect((await t.engine.ps({ all: true, filters: { label: ['tier=db'] } })).map((c) => c.Id)).toEqual([id]);
    expect((await t.engine.ps({ all: true, filters: { label: ['tier=web'] } })).map((c) => c.Id)).toEqual([]);
    await t.engine.remove(id);
  });

  test('events record create, start, die and destroy', async () => {
    const since = Date.now() / 1000 - 1;
    const { id } = await t.engine.run({ image: 'busybox', cmd: ['true'], network: 'none', autoRemove: true });
    const actions: string[] = [];
    for await (const e of t.engine.events({ since, until: Date.now() / 1000, filters: { container: [id] } })) actions.push(e.Action);
    expect(actions).toEqual(expect.arrayContaining(['create', 'start', 'destroy']));
  });

  test('kill checks the signal before the container, as dockerd: a bad one is InvalidArgument in its words, even for no container', async () => {
    await expect(t.engine.kill('no-such-container', 'BOGUS')).rejects.toMatchObject({ code: 'InvalidArgument', message: 'invalid signal: BOGUS' });
  });

  test("a rename to the name the container has is InvalidArgument in moby's words, and the name stays", async () => {
    const { id } = await t.engine.create({ image: 'busybox', name: 'same-name', network: 'none' });
    await expect(t.engine.rename(id, 'same-name')).rejects.toMatchObject({ code: 'InvalidArgument', message: 'Renaming a container with the same name as its current name' });
    expect((await t.engine.inspect('same-name')).Id).toBe(id);
    await t.engine.remove(id);
  });
});
