import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertStack, deployStack, listStacks, loadStack, removeStacks, stackServiceList, stackTasks, type StackObjects } from '../src';
import { MemoryNetworks, MemorySwarm } from './stack-memory-swarm';

/**
 * `stack deploy/rm/ls/ps/services` over a SwarmApi: what is created, updated, pruned and
 * removed, in which order, and what docker prints about it. The swarm here is an in-memory
 * one (the real Swarm is in the CLI's end-to-end test).
 */
describe('stack deploy, rm, ls, ps and services over a SwarmApi', () => {
  let dir: string;
  let swarm: MemorySwarm;
  let networks: MemoryNetworks;
  let out: string[];
  let err: string[];
  const output = { out: (line: string) => out.push(line), err: (line: string) => err.push(line) };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-stack-deploy-'));
    await writeFile(join(dir, 'token'), 'one');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    swarm = new MemorySwarm();
    networks = new MemoryNetworks();
    out = [];
    err = [];
  });

  const file = async (name: string, yaml: string): Promise<string> => {
    await writeFile(join(dir, name), yaml);
    return join(dir, name);
  };
  const objects = async (path: string, namespace = 'app'): Promise<StackObjects> => {
    const { project } = await loadStack({ files: [path], namespace, env: {}, cwd: dir });
    return convertStack(project, namespace);
  };
  const twoServices = 'services:\n  web:\n    image: busybox\n    secrets: [token]\n  db:\n    image: busybox\nsecrets:\n  token: {file: ./token}\n';

  test('a first deploy creates the network, the secret and the services, printing docker\'s lines', async () => {
    await deployStack(swarm.api(), networks, await objects(await file('a.yml', twoServices)), output);
    expect(out).toEqual(['Creating network app_default', 'Creating secret app_token', 'Creating service app_web', 'Creating service app_db']);
    expect(networks.networks.map((n) => n.Name)).toEqual(['app_default']);
    const web = swarm.serviceList.find((s) => s.Spec.Name === 'app_web');
    expect(web?.Spec.TaskTemplate.ContainerSpec?.Secrets?.[0]?.SecretID).toBe(swarm.secretList[0]?.ID);
  });

  test('a redeploy updates each service at the version it read and creates nothing twice', async () => {
    const path = await file('b.yml', twoServices);
    await deployStack(swarm.api(), networks, await objects(path), output);
    const versions = swarm.serviceList.map((s) => `${s.Spec.Name} v${s.Version.Index}`);
    out = [];
    await deployStack(swarm.api(), networks, await objects(path), output);
    const ids = Object.fromEntries(swarm.serviceList.map((s) => [s.Spec.Name, s.ID]));
    expect(out).toEqual([`Updating service app_web (id: ${ids.app_web})`, `Updating service app_db (id: ${ids.app_db})`]);
    expect(swarm.calls.filter((c) => c.startsWith('updateService'))).toEqual(versions.map((v) => `updateService ${v}`));
    expect(swarm.calls).toContain('updateSecret app_token');
  });

  test('a secret whose file changed is an update the swarm refuses: its error is the deploy\'s', async () => {
    const path = await file('c.yml', twoServices);
    await deployStack(swarm.api(), networks, await objects(path), output);
    await writeFile(join(dir, 'token'), 'two');
    try {
      await expect(deployStack(swarm.api(), networks, await objects(path), output)).rejects.toThrow('failed to update secret app_token: only updates to Labels are allowed');
    } finally {
      await writeFile(join(dir, 'token'), 'one');
    }
  });

  test('--prune removes the stack\'s services the file no longer has, and only those', async () => {
    await deployStack(swarm.api(), networks, await objects(await file('d.yml', twoServices)), output);
    await deployStack(swarm.api(), networks, await objects(await file('other.yml', 'services:\n  solo: {image: busybox}\n'), 'other'), output);
    out = [];
    await deployStack(swarm.api(), networks, await objects(await file('e.yml', 'services:\n  web: {image: busybox}\n')), { ...output, prune: true });
    expect(out[0]).toBe('Removing service app_db');
    expect(swarm.serviceList.map((s) => s.Spec.Name).sort()).toEqual(['app_web', 'other_solo']);
  });

  test('an external network that does not exist stops the deploy before anything is created', async () => {
    const path = await file('f.yml', 'services:\n  web: {image: busybox, networks: [ext]}\nnetworks:\n  ext: {external: true, name: shared}\n');
    await expect(deployStack(swarm.api(), networks, await objects(path), output)).rejects.toThrow(
      'network "shared" is declared as external, but could not be found. You need to create a swarm-scoped network before the stack is deployed',
    );
    expect(swarm.serviceList).toEqual([]);
  });

  test('--detach=false waits on each deployed service', async () => {
    const ids = await deployStack(swarm.api(), networks, await objects(await file('g.yml', twoServices)), { ...output, detach: false });
    expect(swarm.calls.filter((c) => c.startsWith('converge'))).toEqual(ids.map((id) => `converge ${id}`));
  });

  test('a node that is not a swarm manager is refused', async () => {
    swarm.manager = false;
    await expect(deployStack(swarm.api(), networks, await objects(await file('h.yml', twoServices)), output)).rejects.toThrow('this node is not a swarm manager');
  });

  test('ls counts each stack\'s services; services and ps list one stack\'s', async () => {
    await deployStack(swarm.api(), networks, await objects(await file('i.yml', twoServices)), output);
    await deployStack(swarm.api(), networks, await objects(await file('j.yml', 'services:\n  solo: {image: busybox}\n'), 'other'), output);
    expect(await listStacks(swarm.api())).toEqual([
      { Name: 'app', Services: 2 },
      { Name: 'other', Services: 1 },
    ]);
    expect((await stackServiceList(swarm.api(), 'app')).map((s) => s.Spec.Name)).toEqual(['app_web', 'app_db']);
    const app = new Set(swarm.serviceList.filter((s) => s.Spec.Name.startsWith('app_')).map((s) => s.ID));
    const tasks = await stackTasks(swarm.api(), 'app');
    expect(tasks).toHaveLength(2);
    expect(tasks.every((t) => app.has(t.ServiceID))).toBe(true);
    await expect(stackTasks(swarm.api(), 'none')).rejects.toThrow('nothing found in stack: none');
  });

  test('rm removes services by name, then secrets and networks; a stack with nothing says so on stderr', async () => {
    await deployStack(swarm.api(), networks, await objects(await file('k.yml', twoServices)), output);
    out = [];
    await removeStacks(swarm.api(), networks, ['app', 'ghost'], output);
    expect(out).toEqual(['Removing service app_db', 'Removing service app_web', 'Removing secret app_token', 'Removing network app_default']);
    expect(err).toEqual(['Nothing found in stack: ghost']);
    expect(swarm.serviceList).toEqual([]);
    expect(swarm.secretList).toEqual([]);
    expect(networks.networks).toEqual([]);
  });
});
