import { stat } from 'node:fs/promises';
import { collector } from '../../engine/test/fixture';
import { createService, inspectService, listServices, removeService } from '../src/services';
import { taskFilesDir } from '../src/task-container';
import { inspectTask, listTasks } from '../src/tasks';
import { converge } from '../src/updater';
import { sharedSwarm, spec, tasksOf } from './swarm-fixture';

const s = sharedSwarm();

describe('service create', () => {
  it('refuses a name that is no DNS name component, in swarmkit’s words', async () => {
    await expect(createService(s.ctx, spec('bad.name', ['true']))).rejects.toThrow('rpc error: code = InvalidArgument desc = name must be valid as a DNS name component');
  });

  it('refuses a spec without an image', async () => {
    await expect(createService(s.ctx, spec('noimage', ['true'], {}, { Image: '' }))).rejects.toThrow('ContainerSpec: image reference must be provided');
  });

  it('refuses a second service of the same name', async () => {
    const { ID } = await createService(s.ctx, spec('twin', ['sleep', '300']));
    await expect(createService(s.ctx, spec('twin', ['sleep', '300']))).rejects.toThrow('rpc error: code = AlreadyExists desc = name conflicts with an existing object: service twin already exists');
    await removeService(s.ctx, ID);
  });

  it('refuses a secret that does not exist', async () => {
    const refs = { Secrets: [{ SecretID: 'nosuchid', SecretName: 'nosuch', File: { Name: 'nosuch', UID: '0', GID: '0', Mode: 0o444 } }] };
    await expect(createService(s.ctx, spec('nosecret', ['true'], {}, refs))).rejects.toThrow('secret not found: nosuch');
  });

  it('runs its replicas as containers named and labelled as swarm tasks, with templates expanded', async () => {
    const { ID } = await createService(s.ctx, spec('web', ['sleep', '300'], { Mode: { Replicated: { Replicas: 2 } } }, { Env: ['SLOT={{.Task.Slot}}', 'SERVICE={{.Service.Name}}'], Hostname: 'web-{{.Task.Slot}}', Labels: { tier: 'front' } }));
    const progress = await converge(s.ctx, ID, {});
    expect(progress).toMatchObject({ running: 2, desired: 2, converged: true });
    const [node] = await s.swarm.nodes();
    for (const task of await tasksOf(s.ctx, ID)) {
      const container = await s.t.engine.inspect(task.Status.ContainerStatus!.ContainerID);
      expect(container.Name).toBe(`/web.${task.Slot}.${task.ID}`);
      expect(container.Config.Labels).toMatchObject({
        tier: 'front',
        'com.docker.swarm.task': '',
        'com.docker.swarm.task.id': task.ID,
        'com.docker.swarm.task.name': `web.${task.Slot}.${task.ID}`,
        'com.docker.swarm.service.id': ID,
        'com.docker.swarm.service.name': 'web',
        'com.docker.swarm.node.id': node!.ID,
      });
      expect(container.Config.Env).toEqual(expect.arrayContaining([`SLOT=${task.Slot}`, 'SERVICE=web']));
      expect(container.Config.Hostname).toBe(`web-${task.Slot}`);
      expect(container.HostConfig.RestartPolicy.Name).toBe('no');
      expect(await inspectTask(s.ctx, task.ID.slice(0, 8))).toMatchObject({ ID: task.ID });
    }
    expect((await inspectService(s.ctx, 'web')).ID).toBe(ID);
    expect((await inspectService(s.ctx, ID.slice(0, 6))).ID).toBe(ID);
    await removeService(s.ctx, ID);
  });

  it('rejects the task, not the create, when the image is missing and cannot be pulled', async () => {
    const { ID } = await createService(s.ctx, spec('noimg', ['true'], {}, { Image: '127.0.0.1:1/nosuch:latest' }));
    const [task] = await tasksOf(s.ctx, ID);
    expect(task!.Status).toMatchObject({ State: 'rejected', Err: 'No such image: 127.0.0.1:1/nosuch:latest' });
    await removeService(s.ctx, ID);
  });

  it('fills swarmkit’s defaults on inspect with insertDefaults', async () => {
    const { ID } = await createService(s.ctx, spec('defaults', ['sleep', '300'], { Mode: { Replicated: { Replicas: 0 } } }));
    const service = await inspectService(s.ctx, ID, { insertDefaults: true });
    expect(service.Spec.UpdateConfig).toEqual({ Parallelism: 1, Delay: 0, FailureAction: 'pause', Monitor: 5_000_000_000, MaxFailureRatio: 0, Order: 'stop-first' });
    expect(service.Spec.TaskTemplate.ContainerSpec?.StopGracePeriod).toBe(10_000_000_000);
    expect(service.Spec.EndpointSpec).toEqual({ Mode: 'vip' });
    expect((await inspectService(s.ctx, ID)).Spec.UpdateConfig).toBeUndefined();
    await removeService(s.ctx, ID);
  });

  it('says which service it could not find', async () => {
    await expect(inspectService(s.ctx, 'nosuchservice')).rejects.toThrow('service nosuchservice not found');
  });
});

describe('service list and remove', () => {
  it('lists with filters and, asked, each service’s running and desired tasks', async () => {
    const a = await createService(s.ctx, spec('lista', ['sleep', '300'], { Labels: { team: 'x' }, Mode: { Replicated: { Replicas: 2 } } }));
    const b = await createService(s.ctx, spec('listb', ['sleep', '300'], { Mode: { Global: {} } }));
    await converge(s.ctx, a.ID, {});
    await converge(s.ctx, b.ID, {});
    expect((await listServices(s.ctx, { label: ['team=x'] })).map((x) => x.Spec.Name)).toEqual(['lista']);
    expect((await listServices(s.ctx, { mode: ['global'] })).map((x) => x.Spec.Name)).toEqual(['listb']);
    expect((await listServices(s.ctx, { name: ['list'] }, { status: true })).map((x) => [x.Spec.Name, x.ServiceStatus])).toEqual([
      ['lista', { RunningTasks: 2, DesiredTasks: 2, CompletedTasks: 0 }],
      ['listb', { RunningTasks: 1, DesiredTasks: 1, CompletedTasks: 0 }],
    ]);
    expect((await listTasks(s.ctx, { service: ['lista'], 'desired-state': ['running'] })).map((t) => t.Slot).sort()).toEqual([1, 2]);
    await expect(listServices(s.ctx, { color: ['red'] })).rejects.toThrow("invalid filter 'color'");
    await removeService(s.ctx, a.ID);
    await removeService(s.ctx, b.ID);
  });

  it('removes the service, its tasks and their containers', async () => {
    const { ID } = await createService(s.ctx, spec('gone', ['sleep', '300'], { Mode: { Replicated: { Replicas: 2 } } }));
    await converge(s.ctx, ID, {});
    await removeService(s.ctx, 'gone');
    expect(await tasksOf(s.ctx, ID)).toEqual([]);
    expect(await s.t.engine.ps({ all: true, filters: { label: [`com.docker.swarm.service.id=${ID}`] } })).toEqual([]);
    await expect(inspectService(s.ctx, ID)).rejects.toThrow(`service ${ID} not found`);
  });

  it('removes its tasks\' anonymous volumes with their containers, as moby\'s executor does, and keeps named ones', async () => {
    const mounts = { Mounts: [{ Type: 'volume' as const, Target: '/scratch' }, { Type: 'volume' as const, Source: 'svc-kept', Target: '/kept' }] };
    const { ID } = await createService(s.ctx, spec('withvols', ['sleep', '300'], {}, mounts));
    try {
      await converge(s.ctx, ID, {});
      const [task] = await tasksOf(s.ctx, ID);
      const anonymous = (await s.t.engine.inspect(task!.Status.ContainerStatus!.ContainerID)).Mounts.find((m) => m.Destination === '/scratch')!.Name!;
      await removeService(s.ctx, ID);
      await expect(s.t.engine.inspectVolume(anonymous)).rejects.toMatchObject({ code: 'NotFound' });
      expect((await s.t.engine.inspectVolume('svc-kept')).Name).toBe('svc-kept');
    } finally {
      await s.t.engine.removeVolume('svc-kept').catch(() => undefined);
    }
  });
});

describe('secrets and configs, as dockerd gives them: bind-mounted read-only from the run root', () => {
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  let serviceId = '';
  let taskId = '';
  let container = '';

  /** What `cmd` prints (stdout and stderr) in the task's container, and its exit code. */
  async function execIn(cmd: string[]): Promise<{ out: string; code: number }> {
    const out = collector();
    const { exitCode } = await s.t.engine.exec(container, { cmd, stdout: out, stderr: out });
    return { out: out.text(), code: exitCode };
  }

  beforeAll(async () => {
    const secret = await s.swarm.createSecret({ Name: 'ro-pw', Labels: {}, Data: b64('hunter2') });
    const config = await s.swarm.createConfig({ Name: 'ro-conf', Labels: {}, Data: b64('level=debug') });
    const files = {
      ReadOnly: true,
      Secrets: [{ SecretID: secret.ID, SecretName: 'ro-pw', File: { Name: 'ro-pw', UID: '0', GID: '0', Mode: 0o400 } }],
      Configs: [{ ConfigID: config.ID, ConfigName: 'ro-conf', File: { Name: '/etc/app.conf', UID: '1000', GID: '1000', Mode: 0o440 } }],
    };
    serviceId = (await createService(s.ctx, spec('readonly', ['sleep', '600'], {}, files))).ID;
    expect(await converge(s.ctx, serviceId, {})).toMatchObject({ running: 1, converged: true });
    const [task] = await tasksOf(s.ctx, serviceId);
    taskId = task!.ID;
    container = task!.Status.ContainerStatus!.ContainerID;
  });

  it('a task with a read-only root filesystem reads its secret at /run/secrets/<name>', async () => {
    expect(await execIn(['cat', '/run/secrets/ro-pw'])).toEqual({ out: 'hunter2', code: 0 });
    expect((await execIn(['touch', '/written'])).code).not.toBe(0);
  });

  it('and its config at its target, with the reference\'s owner and mode', async () => {
    expect(await execIn(['cat', '/etc/app.conf'])).toEqual({ out: 'level=debug', code: 0 });
    expect(await execIn(['stat', '-c', '%a %u %g', '/etc/app.conf', '/run/secrets/ro-pw'])).toEqual({ out: '440 1000 1000\n400 0 0\n', code: 0 });
  });

  it('inspect shows them nowhere: they are the container\'s own mounts, as dockerd\'s secret and config mounts', async () => {
    const inspect = await s.t.engine.inspect(container);
    expect(inspect.Mounts).toEqual([]);
    expect(inspect.HostConfig.Mounts).toBeUndefined();
    expect(inspect.HostConfig.Binds).toBeNull();
  });

  it('the files cannot be changed from inside the container', async () => {
    expect((await execIn(['sh', '-c', 'echo x > /run/secrets/ro-pw'])).code).not.toBe(0);
  });

  it('keeps them out of the container\'s writable layer: diff shows only the empty places they are mounted over', async () => {
    const changes = await s.t.engine.changes(container);
    expect(changes.filter((c) => c.Path.startsWith('/run') || c.Path === '/etc/app.conf').map((c) => c.Path)).toEqual(['/etc/app.conf', '/run', '/run/secrets', '/run/secrets/ro-pw']);
  });

  it('so a commit of the task\'s container cannot capture them', async () => {
    const { id } = await s.t.engine.commit(container);
    try {
      const stdout = collector();
      await s.t.engine.run({ image: id, cmd: ['cat', '/run/secrets/ro-pw', '/etc/app.conf'], network: 'none', autoRemove: true, stdout });
      expect(stdout.text()).toBe('');
    } finally {
      await s.t.engine.removeImage(id, { force: true });
    }
  });

  it('keeps them on the host in a directory of the task\'s under the run root, only root may enter', async () => {
    expect((await stat(taskFilesDir(s.ctx, taskId))).mode & 0o777).toBe(0o700);
  });

  it('removes that directory with the task\'s container', async () => {
    await removeService(s.ctx, serviceId);
    await expect(stat(taskFilesDir(s.ctx, taskId))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
