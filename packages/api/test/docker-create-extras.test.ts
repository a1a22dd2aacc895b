/**
 * The real docker CLI against ctrd: `--expose`, `--volumes-from`, `--mac-address`, `--link`,
 * `--userns`, `--pid container:`, `--add-host NAME:host-gateway`, `--gpus`, and `exec --env-file`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoteEngine } from '@ctr/api';
import { NetworkManager } from '@ctr/network';
import { docker, useTestDaemon } from './fixture';

const t = useTestDaemon();
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-api-create-extras-'));
});

describe('docker create options against ctrd', () => {
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
    // Before the daemon's root goes (the fixture's cleanup, after this block's): the default bridge these tests made lives on the host.
    for (const id of (await docker(t.env, ['ps', '-aq'])).stdout.split('\n').filter(Boolean)) await docker(t.env, ['rm', '-f', '-v', id]);
    await new NetworkManager({ root: t.root, runRoot: t.runRoot }).gc();
  });

  const inspect = async (format: string, container: string): Promise<string> => (await docker(t.env, ['inspect', '--format', format, container])).stdout.trim();
  const containers = async (): Promise<string> => (await docker(t.env, ['ps', '-aq'])).stdout;

  test('docker run --gpus is refused as dockerd without a GPU driver refuses it: status 125, nothing left', async () => {
    const before = await containers();
    const result = await docker(t.env, ['run', '--rm', '--network', 'none', '--gpus', 'all', 'busybox', 'true']);
    expect(result.code).toBe(125);
    expect(result.stderr).toContain('could not select device driver "" with capabilities: [[gpu]]');
    expect(await containers()).toBe(before);
  });

  test('docker run --volumes-from mounts the other container\'s volumes, and inspect shows HostConfig.VolumesFrom', async () => {
    await docker(t.env, ['run', '--network', 'none', '--name', 'api-vf-source', '-v', '/data', 'busybox', 'sh', '-c', 'echo kept > /data/f']);
    const run = await docker(t.env, ['run', '--network', 'none', '--name', 'api-vf-user', '--volumes-from', 'api-vf-source:ro', 'busybox', 'sh', '-c', 'cat /data/f; touch /data/g || true']);
    expect(run.stdout).toBe('kept\n');
    expect(run.stderr).toContain('Read-only file system');
    expect(await inspect('{{json .HostConfig.VolumesFrom}}', 'api-vf-user')).toBe('["api-vf-source:ro"]');
    const unknown = await docker(t.env, ['run', '--rm', '--network', 'none', '--volumes-from', 'api-vf-nobody', 'busybox', 'true']);
    expect([unknown.code, unknown.stderr]).toEqual([125, expect.stringContaining('No such container: api-vf-nobody')]);
    await docker(t.env, ['rm', '-v', 'api-vf-user', 'api-vf-source']);
  });

  test('docker run --expose, --userns host and --pid container: reach the container and inspect', async () => {
    const donor = (await docker(t.env, ['run', '-d', '--network', 'none', '--name', 'api-pid-donor', 'busybox', 'sleep', '300'])).stdout.trim();
    await docker(t.env, ['create', '--network', 'none', '--name', 'api-modes', '--expose', '7000-7001/udp', '--userns', 'host', '--pid', 'container:api-pid-donor', 'busybox', 'ps', '-o', 'args']);
    expect(await inspect('{{json .Config.ExposedPorts}} {{.HostConfig.UsernsMode}} {{.HostConfig.PidMode}}', 'api-modes')).toBe(
      `{"7000/udp":{},"7001/udp":{}} host container:${donor}`,
    );
    expect((await docker(t.env, ['start', '-a', 'api-modes'])).stdout).toContain('sleep 300');
    await docker(t.env, ['rm', '-f', 'api-modes', 'api-pid-donor']);
  });

  test('docker run --mac-address sets the address of the container\'s interface', async () => {
    const run = await docker(t.env, ['run', '--rm', '--mac-address', '92:d0:c6:0a:29:33', 'busybox', 'cat', '/sys/class/net/eth0/address']);
    expect(run.stdout).toBe('92:d0:c6:0a:29:33\n');
    const refused = await docker(t.env, ['run', '--rm', '--network', 'none', '--mac-address', '92:d0:c6:0a:29:33', 'busybox', 'true']);
    expect([refused.code, refused.stderr]).toEqual([125, expect.stringContaining('conflicting options: mac-address and the network mode')]);
  });

  test('docker run --link gives the hosts entry and docker\'s variables; inspect shows HostConfig.Links', async () => {
    await docker(t.env, ['run', '-d', '--name', 'api-link-web', '--expose', '80', 'busybox', 'sleep', '300']);
    const ip = await inspect('{{.NetworkSettings.IPAddress}}', 'api-link-web');
    const run = await docker(t.env, ['run', '--name', 'api-link-app', '--link', 'api-link-web:db', 'busybox', 'sh', '-c', 'echo $DB_PORT $DB_NAME; grep -w db /etc/hosts']);
    expect(run.stdout).toBe(`tcp://${ip}:80 /api-link-app/db\n${ip}\tdb\n`);
    expect(await inspect('{{json .HostConfig.Links}}', 'api-link-app')).toBe('["/api-link-web:/api-link-app/db"]');
    await docker(t.env, ['rm', '-f', 'api-link-app', 'api-link-web']);
  });

  test('docker run --add-host NAME:host-gateway names the default bridge\'s gateway', async () => {
    await docker(t.env, ['create', '--name', 'api-gw-bridge', 'busybox']);
    const gateway = (await docker(t.env, ['network', 'inspect', '--format', '{{(index .IPAM.Config 0).Gateway}}', 'bridge'])).stdout.trim();
    const run = await docker(t.env, ['run', '--rm', '--network', 'none', '--add-host', 'gw.test:host-gateway', 'busybox', 'grep', 'gw.test', '/etc/hosts']);
    expect(run.stdout).toBe(`${gateway}\tgw.test\n`);
    await docker(t.env, ['rm', 'api-gw-bridge']);
  });

  test('the client (ctr -H) sends the options: a remote create has them as a local one does', async () => {
    const remote = new RemoteEngine({ host: `unix://${t.socket}` });
    await remote.run({ image: 'busybox', name: 'api-remote-source', network: 'none', volumes: ['/data'], cmd: ['true'] });
    await remote.run({ image: 'busybox', name: 'api-remote-donor', network: 'none', cmd: ['sleep', '300'], detach: true });
    const { id } = await remote.create({
      image: 'busybox',
      network: 'none',
      expose: ['7000'],
      volumesFrom: ['api-remote-source:ro'],
      usernsMode: 'host',
      pid: 'container:api-remote-donor',
    });
    const info = await t.daemon.engine.inspect(id);
    expect([Object.keys(info.Config.ExposedPorts ?? {}), info.HostConfig.VolumesFrom, info.HostConfig.UsernsMode, info.HostConfig.PidMode]).toEqual([
      ['7000/tcp'],
      ['api-remote-source:ro'],
      'host',
      `container:${(await t.daemon.engine.inspect('api-remote-donor')).Id}`,
    ]);
    await expect(remote.create({ image: 'busybox', network: 'none', deviceRequests: [{ Driver: 'nvidia', Capabilities: [['gpu']] }] })).rejects.toMatchObject({
      message: 'could not select device driver "nvidia" with capabilities: [[gpu]]',
    });
    for (const name of [id, 'api-remote-donor', 'api-remote-source']) await t.daemon.engine.remove(name, { force: true, volumes: true });
  });

  test('docker exec --env-file sets the file\'s variables, -e overriding them', async () => {
    const file = join(work, 'exec.env');
    await writeFile(file, '# comment\nFROM_FILE=one\nBOTH=file\n');
    await docker(t.env, ['run', '-d', '--network', 'none', '--name', 'api-exec-env', 'busybox', 'sleep', '300']);
    const run = await docker(t.env, ['exec', '--env-file', file, '-e', 'BOTH=flag', 'api-exec-env', 'sh', '-c', 'echo $FROM_FILE $BOTH']);
    expect(run.stdout).toBe('one flag\n');
    await docker(t.env, ['rm', '-f', 'api-exec-env']);
  });
});
