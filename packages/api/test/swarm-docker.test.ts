/**
 * Swarm mode under the real docker CLI (28.2) against ctrd: `swarm init`, nodes, services and
 * their tasks and logs, scaling, rolling updates and rollback, a port published in host mode,
 * secrets, configs, overlay networks and `stack deploy` with a port published on the routing
 * mesh. Services are created with `--no-resolve-image` (stacks `--resolve-image never`): the
 * image is local, no registry is asked.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../../../test/support/free-port';
import { loopbackListenAddr, swarmAgentPid } from '../../../test/support/swarm-agent';
import { startDaemon } from '@ctr/api';
import { docker, startTestDaemon, type Run, type TestDaemon } from './fixture';

let t: TestDaemon;
let dir: string;
/** The cluster port: its own on loopback, as another test file's swarm may be listening beside this one. */
let listenAddr: string;
/** The daemon "a restarted ctrd" starts in place of the fixture's. */
let restarted: Awaited<ReturnType<typeof startDaemon>> | undefined;

beforeAll(async () => {
  t = await startTestDaemon();
  dir = await mkdtemp(join(tmpdir(), 'ctr-swarm-docker-'));
  listenAddr = await loopbackListenAddr();
}, 120_000);

afterAll(async () => {
  // The swarm first (its services' tasks, its networks, the routing mesh), then the daemon.
  if (t) await docker(t.env, ['swarm', 'leave', '--force']).catch(() => undefined);
  // The fixture stops the daemon it started; the one the restart test started is this file's to stop.
  await restarted?.stop();
  await t?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

afterEach(() => {
  expect(t.internalErrors).toEqual([]);
});

/** The docker CLI, failing the test with what it said when it fails. */
async function ok(args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const run = await docker(t.env, args, options);
  if (run.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${run.code}: ${run.stderr}${run.stdout}`);
  return run.stdout;
}

/**
 * What `docker …` prints once it prints what `done` accepts: a swarm gets there on its own
 * (tasks start, logs are written), so it is asked again until it does, as a person would.
 */
async function eventually(args: string[], done: (stdout: string) => boolean): Promise<string> {
  let last: Run | undefined;
  for (let attempt = 0; attempt < 120; attempt++) {
    last = await docker(t.env, args);
    if (last.code === 0 && done(last.stdout)) return last.stdout;
    await delay(250);
  }
  throw new Error(`docker ${args.join(' ')} never printed what was expected; last: ${last?.stdout}${last?.stderr}`);
}

/** What the swarm and the engine say now, for a failure's message: an intermittent failure is read from it. */
async function swarmState(): Promise<string> {
  const views = [
    ['node', 'ls', '--format', '{{.ID}} {{.Status}} {{.Availability}} {{.ManagerStatus}}'],
    ['service', 'ps', '--no-trunc', '--format', '{{.ID}} {{.Name}} {{.Node}} {{.DesiredState}} {{.CurrentState}} {{.Error}}', 'web'],
    ['ps', '-a', '--no-trunc', '--format', '{{.Names}} {{.Status}}'],
  ];
  const out: string[] = [];
  for (const args of views) {
    const run = await docker(t.env, args);
    out.push(`$ docker ${args.join(' ')}\n${run.stdout}${run.stderr}`);
  }
  return out.join('\n');
}

function httpGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString()));
      })
      .on('error', reject);
  });
}

/** What GET `path` answers on 127.0.0.1:`port` once a task's server there is up (asked again meanwhile). */
async function servedOn(port: number, path: string): Promise<string> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const body = await httpGet(port, path).catch(() => '');
    if (body !== '') return body;
    await delay(250);
  }
  return '';
}

const lines = (text: string): string[] => text.split('\n').filter((l) => l.trim() !== '');

/** Whether something accepts a TCP connection on `address` (host:port). */
function accepting(address: string): Promise<boolean> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

describe('the swarm', () => {
  test('docker swarm init makes this node the manager of a new swarm', async () => {
    const out = await ok(['swarm', 'init', '--listen-addr', listenAddr, '--advertise-addr', '127.0.0.1']);
    expect(out).toMatch(/^Swarm initialized: current node \([0-9a-z]{25}\) is now a manager\./);
  });

  test('docker info says the swarm is active, with this node as its one manager', async () => {
    const out = await ok(['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.Managers}} {{.Swarm.Nodes}}']);
    expect(out.trim()).toBe('active true 1 1');
    expect(await ok(['info'])).toMatch(/\n Swarm: active\n  NodeID: [0-9a-z]{25}\n  Is Manager: true\n  ClusterID: [0-9a-z]{25}\n  Managers: 1\n  Nodes: 1\n/);
  });

  test('docker swarm join-token reads the cluster (GET /swarm)', async () => {
    expect(await ok(['swarm', 'join-token', '-q', 'worker'])).toMatch(/^SWMTKN-1-/);
  });

  test('a second init is refused in dockerd\'s words', async () => {
    const run = await docker(t.env, ['swarm', 'init', '--listen-addr', listenAddr, '--advertise-addr', '127.0.0.1']);
    expect([run.code, run.stderr]).toEqual([1, expect.stringContaining('This node is already part of a swarm.') as unknown]);
  });
});

describe('nodes', () => {
  test('docker node ls lists this node as the leader, marked as self', async () => {
    const out = await ok(['node', 'ls', '--format', '{{.Self}} {{.Status}} {{.Availability}} {{.ManagerStatus}}']);
    expect(out.trim()).toBe('true Ready Active Leader');
  });

  test('docker node ls shows the node\'s TLS status Ready, and node inspect --pretty the TLS info of the swarm\'s root CA', async () => {
    expect(await ok(['node', 'ls', '--format', '{{.TLSStatus}}'])).toBe('Ready\n');
    // `swarm ca` reads the root CA from GET /swarm; the node's TLS info comes from GET /nodes/self.
    const trustRoot = await ok(['swarm', 'ca']);
    expect(trustRoot).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
    const pretty = await ok(['node', 'inspect', '--pretty', 'self']);
    expect(pretty).toContain(`\nTLS Info:\n TrustRoot:\n${trustRoot}\n Issuer Subject:\t`);
    expect(pretty).toMatch(/\n Issuer Subject:\tMB[A-Za-z0-9+/=]+\n Issuer Public Key:\tMF[A-Za-z0-9+/=]+\n$/);
  });

  test('docker node update adds a label that docker node inspect shows', async () => {
    // `self` is the CLI's word for inspect and ps; update sends what it is given, as to dockerd.
    const id = (await ok(['info', '--format', '{{.Swarm.NodeID}}'])).trim();
    expect((await ok(['node', 'update', '--label-add', 'zone=a', id])).trim()).toBe(id);
    expect((await ok(['node', 'inspect', 'self', '--format', '{{.Spec.Labels.zone}} {{.Spec.Role}}'])).trim()).toBe('a manager');
  });
});

describe('services', () => {
  test('docker service create waits until both replicas run', async () => {
    const run = await docker(t.env, ['service', 'create', '--no-resolve-image', '--name', 'web', '--replicas', '2', 'busybox', 'sleep', '1000'], { timeoutMs: 90_000 });
    expect(run.code).toBe(0);
    // The ID, then the progress docker's CLI drew while it polled (on stdout, as it draws it).
    expect(run.stdout).toMatch(/^[0-9a-z]{25}\n/);
    expect(run.stdout).toMatch(/\nverify: Service [0-9a-z]{25} converged/);
  }, 120_000);

  test('docker service ls shows 2/2', async () => {
    expect((await ok(['service', 'ls', '--format', '{{.Name}} {{.Mode}} {{.Replicas}} {{.Image}}'])).trim()).toBe('web replicated 2/2 busybox:latest');
  });

  test('docker service ps lists the tasks by slot, running', async () => {
    const out = await ok(['service', 'ps', 'web', '--format', '{{.Name}} {{.DesiredState}} {{.CurrentState}}']);
    // CurrentState ends with how long ago: `Running 3 seconds ago`.
    expect(lines(out).map((l) => l.replace(/ (\d+|less|about) .* ago$/, ''))).toEqual(['web.1 Running Running', 'web.2 Running Running']);
  });

  test("each task is a container named for its slot and task, with swarm's labels", async () => {
    const out = await ok(['ps', '--filter', 'label=com.docker.swarm.service.name=web', '--format', '{{.Names}} {{.Label "com.docker.swarm.task.name"}}']);
    const rows = lines(out).sort();
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      const [name, taskName] = row.split(' ');
      expect(name).toMatch(/^web\.[12]\.[0-9a-z]{25}$/);
      expect(taskName).toBe(name);
    }
  });

  test('docker service create without --no-resolve-image warns that no registry recorded the digest, and goes on', async () => {
    const run = await docker(t.env, ['service', 'create', '--detach', '--name', 'resolved', 'busybox', 'sleep', '1000']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('image busybox:latest could not be accessed on a registry to record');
    await ok(['service', 'rm', 'resolved']);
  });

  test('docker service scale changes the number of running tasks', async () => {
    await ok(['service', 'scale', 'web=3'], { timeoutMs: 90_000 });
    expect((await ok(['service', 'ls', '--filter', 'name=web', '--format', '{{.Replicas}}'])).trim()).toBe('3/3');
  }, 120_000);

  test('docker service update --env-add replaces the tasks with ones that have it', async () => {
    // All three at once, watched 1 s (the rollback too): the default, one at a time watched 5 s each, only takes longer.
    const quick = ['--update-parallelism', '3', '--update-monitor', '1s', '--rollback-parallelism', '3', '--rollback-monitor', '1s'];
    await ok(['service', 'update', ...quick, '--env-add', 'GREETING=hi', 'web'], { timeoutMs: 90_000 });
    expect((await ok(['service', 'inspect', 'web', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Env}} {{.UpdateStatus.State}}'])).trim()).toBe('[GREETING=hi] completed');
    const running = lines(await ok(['ps', '--filter', 'label=com.docker.swarm.service.name=web', '--format', '{{.ID}}']));
    if (running.length !== 3) throw new Error(`${running.length} of web's task containers run, not 3\n${await swarmState()}`);
    for (const id of running) expect((await ok(['inspect', id, '--format', '{{json .Config.Env}}'])).trim()).toContain('"GREETING=hi"');
  }, 120_000);

  test('docker service update --image moves the tasks to the new image, and rollback back', async () => {
    await ok(['tag', 'busybox', 'busybox:v2']);
    await ok(['service', 'update', '--no-resolve-image', '--image', 'busybox:v2', 'web'], { timeoutMs: 90_000 });
    expect((await ok(['service', 'inspect', 'web', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}'])).trim()).toBe('busybox:v2');
    await ok(['service', 'rollback', 'web'], { timeoutMs: 90_000 });
    // docker's CLI stops waiting once the tasks are back and stable; the rollback is marked complete as it ends.
    await eventually(['service', 'inspect', 'web', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}} {{.UpdateStatus.State}}'], (o) => o.trim() === 'busybox:latest rollback_completed');
  }, 180_000);

  test('docker service update --publish-add in host mode replaces the tasks, whose new container publishes the port', async () => {
    const serve = 'mkdir -p /www && echo from hostport > /www/index.html && httpd -f -p 80 -h /www';
    await ok(['service', 'create', '--no-resolve-image', '--name', 'hostport', '--update-monitor', '1s', 'busybox', 'sh', '-c', serve], { timeoutMs: 90_000 });
    const before = (await ok(['service', 'ps', '-q', 'hostport'])).trim();
    const port = await freePort();
    await ok(['service', 'update', '--publish-add', `published=${port},target=80,mode=host`, 'hostport'], { timeoutMs: 90_000 });
    const tasks = lines(await ok(['service', 'ps', '-q', '--filter', 'desired-state=running', 'hostport']));
    expect(tasks).toHaveLength(1);
    expect(tasks).not.toContain(before);
    const container = (await ok(['ps', '-q', '--filter', 'label=com.docker.swarm.service.name=hostport'])).trim();
    expect(await ok(['port', container, '80/tcp'])).toBe(`0.0.0.0:${port}\n[::]:${port}\n`);
    expect(await servedOn(port, '/index.html')).toBe('from hostport\n');
    await ok(['service', 'rm', 'hostport']);
  }, 180_000);

  test('docker service rm removes the service and its tasks', async () => {
    expect((await ok(['service', 'rm', 'web'])).trim()).toBe('web');
    expect(await ok(['service', 'ls', '-q'])).toBe('');
    await eventually(['ps', '-a', '-q', '--filter', 'label=com.docker.swarm.service.name=web'], (out) => out === '').catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await swarmState()}`);
    });
  });
});

describe('service logs', () => {
  test("docker service logs prints each line after its task and node, as docker's CLI formats them", async () => {
    await ok(['service', 'create', '--detach', '--no-resolve-image', '--name', 'talker', 'busybox', 'sh', '-c', 'echo hello from the task; echo to stderr >&2; sleep 1000']);
    const out = await eventually(['service', 'logs', 'talker'], (o) => o.includes('hello from the task'));
    expect(out).toMatch(/^talker\.1\.[0-9a-z]{12}@\S+\s+\| hello from the task$/m);
    const both = await eventually(['service', 'logs', '--raw', 'talker'], (o) => o.includes('hello'));
    expect(both.trim()).toBe('hello from the task');
  });

  test('docker service logs --no-task-ids --timestamps', async () => {
    const out = await ok(['service', 'logs', '--no-task-ids', '--timestamps', 'talker']);
    expect(out).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z talker\.1@\S+\s+\| hello from the task$/m);
  });

  test('docker service logs of a task', async () => {
    const task = (await ok(['service', 'ps', '-q', 'talker'])).trim();
    expect(await ok(['service', 'logs', task])).toMatch(/^talker\.1\.[0-9a-z]{12}@\S+\s+\| hello from the task$/m);
    await ok(['service', 'rm', 'talker']);
  });
});

describe('secrets and configs', () => {
  test('docker secret create, ls, inspect', async () => {
    const id = (await ok(['secret', 'create', 'pw', '-'], { input: 's3cret' })).trim();
    expect(id).toMatch(/^[0-9a-z]{25}$/);
    expect((await ok(['secret', 'ls', '--format', '{{.Name}}'])).trim()).toBe('pw');
    expect((await ok(['secret', 'inspect', 'pw', '--format', '{{.ID}} {{.Spec.Name}} {{.Spec.Data}}'])).trim()).toBe(`${id} pw []`);
  });

  test('docker config create, ls, inspect --pretty shows its data', async () => {
    await writeFile(join(dir, 'app.conf'), 'level=debug\n');
    await ok(['config', 'create', 'app', join(dir, 'app.conf')]);
    expect((await ok(['config', 'ls', '--format', '{{.Name}}'])).trim()).toBe('app');
    expect(await ok(['config', 'inspect', '--pretty', 'app'])).toContain('level=debug');
  });

  test("a service's task finds its secret and config as files, with a read-only root filesystem too", async () => {
    await ok(['service', 'create', '--detach', '--no-resolve-image', '--read-only', '--name', 'reader', '--secret', 'pw', '--config', 'source=app,target=/etc/app.conf', 'busybox', 'sh', '-c', 'cat /run/secrets/pw; echo; cat /etc/app.conf; sleep 1000']);
    const out = await eventually(['service', 'logs', '--raw', 'reader'], (o) => o.includes('level=debug'));
    expect(lines(out)).toEqual(['s3cret', 'level=debug']);
  });

  test("docker inspect of the task's container shows no mount for them, as dockerd mounts them as the container's own", async () => {
    const container = (await ok(['ps', '-q', '--filter', 'label=com.docker.swarm.service.name=reader'])).trim();
    expect((await ok(['inspect', container, '--format', '{{json .Mounts}} {{json .HostConfig.Mounts}} {{json .HostConfig.Binds}}'])).trim()).toBe('[] null null');
  });

  test('a secret in use is not removed; once its service is gone it is', async () => {
    const run = await docker(t.env, ['secret', 'rm', 'pw']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('is in use by the following service: reader');
    await ok(['service', 'rm', 'reader']);
    expect((await ok(['secret', 'rm', 'pw'])).trim()).toBe('pw');
    expect((await ok(['config', 'rm', 'app'])).trim()).toBe('app');
    expect(await ok(['secret', 'ls', '-q'])).toBe('');
  });
});

describe('overlay networks', () => {
  test('docker network create -d overlay makes a swarm-scoped network beside ingress', async () => {
    await ok(['network', 'create', '-d', 'overlay', '--attachable', 'backend']);
    const out = await ok(['network', 'ls', '--filter', 'driver=overlay', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']);
    expect(lines(out).sort()).toEqual(['backend overlay swarm', 'ingress overlay swarm']);
    await ok(['network', 'rm', 'backend']);
  });

  test("swarm networks have swarmkit's 25-character IDs, and are found by a prefix of one", async () => {
    const id = (await ok(['network', 'create', '-d', 'overlay', 'prefixed'])).trim();
    expect(id).toMatch(/^[0-9a-z]{25}$/);
    expect((await ok(['network', 'inspect', 'ingress', '--format', '{{.Id}}'])).trim()).toMatch(/^[0-9a-z]{25}$/);
    expect((await ok(['network', 'ls', '--filter', 'name=prefixed', '--format', '{{.ID}}'])).trim()).toBe(id.slice(0, 12));
    expect((await ok(['network', 'inspect', id.slice(0, 8), '--format', '{{.Name}}'])).trim()).toBe('prefixed');
    expect((await ok(['network', 'rm', id.slice(0, 8)])).trim()).toBe(id.slice(0, 8));
  });

  test('docker network rm of an overlay network a service uses is refused in swarmkit\'s words (DELETE /networks/{id})', async () => {
    const network = (await ok(['network', 'create', '-d', 'overlay', 'inuse'])).trim();
    const service = (await ok(['service', 'create', '--detach', '--no-resolve-image', '--replicas', '0', '--network', 'inuse', '--name', 'netuser', 'busybox', 'true'])).trim();
    const refused = await docker(t.env, ['network', 'rm', 'inuse']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`Error response from daemon: rpc error: code = FailedPrecondition desc = network ${network} is in use by service ${service}`);
    await ok(['service', 'rm', 'netuser']);
    expect((await ok(['network', 'rm', 'inuse'])).trim()).toBe('inuse');
  });
});

describe('stacks', () => {
  test('docker stack deploy runs a compose file whose published port answers on 127.0.0.1', async () => {
    const port = await freePort();
    const compose = [
      'version: "3.8"',
      'services:',
      '  web:',
      '    image: busybox',
      '    command: ["sh", "-c", "mkdir -p /www && echo served by the stack > /www/index.html && httpd -f -p 80 -h /www"]',
      '    ports:',
      `      - "${port}:80"`,
      '',
    ].join('\n');
    await writeFile(join(dir, 'compose.yml'), compose);
    const deployed = await ok(['stack', 'deploy', '--resolve-image', 'never', '-c', join(dir, 'compose.yml'), 'st']);
    expect(deployed).toContain('Creating service st_web');
    await eventually(['stack', 'services', 'st', '--format', '{{.Name}} {{.Replicas}}'], (o) => o.trim() === 'st_web 1/1');
    expect((await ok(['stack', 'ls', '--format', '{{.Name}} {{.Services}}'])).trim()).toBe('st 1');
    expect(await servedOn(port, '/index.html')).toBe('served by the stack\n');
  }, 120_000);

  test('docker stack rm removes its services and network', async () => {
    const out = await ok(['stack', 'rm', 'st']);
    expect(out).toContain('Removing service st_web');
    expect(await ok(['service', 'ls', '-q'])).toBe('');
    await eventually(['network', 'ls', '-q', '--filter', 'label=com.docker.stack.namespace=st'], (o) => o === '');
  });
});

describe('a restarted ctrd', () => {
  test('finds the swarm again: its service and the task that kept running under conmon', async () => {
    await ok(['service', 'create', '--detach', '--no-resolve-image', '--name', 'survivor', 'busybox', 'sleep', '1000']);
    await eventually(['service', 'ls', '--filter', 'name=survivor', '--format', '{{.Replicas}}'], (o) => o.trim() === '1/1');
    const before = (await ok(['ps', '-q', '--no-trunc', '--filter', 'label=com.docker.swarm.service.name=survivor'])).trim();
    await t.daemon.stop();
    t.daemon = restarted = await startDaemon({ root: t.root, runRoot: t.runRoot, hosts: [`unix://${t.socket}`], onInternalError: (error, request) => t.internalErrors.push(`${request}: ${String(error)}`) });
    expect((await ok(['service', 'ls', '--filter', 'name=survivor', '--format', '{{.Name}} {{.Replicas}}'])).trim()).toBe('survivor 1/1');
    expect((await ok(['ps', '-q', '--no-trunc', '--filter', 'label=com.docker.swarm.service.name=survivor'])).trim()).toBe(before);
    await ok(['service', 'rm', 'survivor']);
  }, 120_000);
});

describe('leaving', () => {
  test("docker swarm leave --force stops ctrd's node agent: the cluster port closes", async () => {
    // ctrd runs the agent in its own process (here, jest's): the pid file names it while it serves.
    expect([swarmAgentPid(t.runRoot), await accepting(listenAddr)]).toEqual([process.pid, true]);
    expect((await ok(['swarm', 'leave', '--force'])).trim()).toBe('Node left the swarm.');
    expect([swarmAgentPid(t.runRoot), await accepting(listenAddr)]).toEqual([undefined, false]);
  });

  test('after leaving, info says inactive again and manager verbs are refused', async () => {
    expect((await ok(['info', '--format', '{{.Swarm.LocalNodeState}}'])).trim()).toBe('inactive');
    const run = await docker(t.env, ['service', 'ls']);
    expect([run.code, run.stderr.trim()]).toEqual([1, 'Error response from daemon: This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.']);
  });
});
