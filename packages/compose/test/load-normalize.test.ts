import { join } from 'node:path';
import { parsePortShort } from '../src/canonical';
import { shellSplit } from '../src/shellwords';
import { fixture, load, removeFixtures } from './load-support';
import { loadProject } from '../src/load';

afterAll(removeFixtures);

/** Loads one service `web` (image busybox) with the given YAML lines under it. */
async function web(lines: string, files: Record<string, string> = {}, env: Record<string, string> = {}) {
  const indented = lines.split('\n').map((line) => `    ${line}`).join('\n');
  const dir = await fixture({ 'compose.yaml': `services:\n  web:\n    image: busybox\n${indented}\nvolumes:\n  data: {}\n`, ...files });
  const project = await loadProject({ cwd: dir, env });
  return { dir, project, service: project.services.web as NonNullable<typeof project.services.web> };
}

describe('ports', () => {
  test('a container port alone is published on a random port', () => {
    expect(parsePortShort('80')).toEqual([{ mode: 'ingress', target: 80, protocol: 'tcp' }]);
  });

  test('host:container', () => {
    expect(parsePortShort('8080:80')).toEqual([{ mode: 'ingress', target: 80, published: '8080', protocol: 'tcp' }]);
  });

  test('ip:host:container/protocol', () => {
    expect(parsePortShort('127.0.0.1:8080:80/udp')).toEqual([{ mode: 'ingress', host_ip: '127.0.0.1', target: 80, published: '8080', protocol: 'udp' }]);
  });

  test('a bracketed IPv6 host address', () => {
    expect(parsePortShort('[::1]:80:80')).toEqual([{ mode: 'ingress', host_ip: '::1', target: 80, published: '80', protocol: 'tcp' }]);
  });

  test('an IP with no host port', () => {
    expect(parsePortShort('127.0.0.1::80')).toEqual([{ mode: 'ingress', host_ip: '127.0.0.1', target: 80, protocol: 'tcp' }]);
  });

  test('matching ranges map port to port', () => {
    expect(parsePortShort('8000-8001:9000-9001').map((p) => [p.published, p.target])).toEqual([['8000', 9000], ['8001', 9001]]);
  });

  test('a host range for one container port stays a range', () => {
    expect(parsePortShort('8000-8010:80')).toEqual([{ mode: 'ingress', target: 80, published: '8000-8010', protocol: 'tcp' }]);
  });

  test('a bad port is an error', () => {
    expect(() => parsePortShort('80:http')).toThrow('invalid containerPort: http');
  });

  test('long syntax numbers become compose\'s strings and defaults', async () => {
    const { service } = await web('ports:\n  - target: 80\n    published: 8080\n  - 5000:5000');
    expect(service.ports).toEqual([
      { mode: 'ingress', target: 80, published: '8080', protocol: 'tcp' },
      { mode: 'ingress', target: 5000, published: '5000', protocol: 'tcp' },
    ]);
  });
});

describe('volumes', () => {
  test('a relative bind is made absolute against the project directory', async () => {
    const { dir, service } = await web('volumes:\n  - ./data:/data:ro');
    expect(service.volumes).toEqual([{ type: 'bind', source: join(dir, 'data'), target: '/data', read_only: true, bind: { create_host_path: true } }]);
  });

  test('~ is the home directory', async () => {
    const { service } = await web('volumes:\n  - ~/cache:/cache', {}, { HOME: '/home/someone' });
    expect(service.volumes[0]?.source).toBe('/home/someone/cache');
  });

  test('a named volume keeps its key', async () => {
    const { service } = await web('volumes:\n  - data:/var/lib/data:nocopy');
    expect(service.volumes).toEqual([{ type: 'volume', source: 'data', target: '/var/lib/data', volume: { nocopy: true } }]);
  });

  test('a path alone is an anonymous volume', async () => {
    const { service } = await web('volumes:\n  - /scratch');
    expect(service.volumes).toEqual([{ type: 'volume', target: '/scratch' }]);
  });

  test('SELinux and propagation options go to bind', async () => {
    const { service } = await web('volumes:\n  - /src:/src:z,rshared');
    expect(service.volumes[0]?.bind).toEqual({ create_host_path: true, selinux: 'z', propagation: 'rshared' });
  });

  test('a long-form relative bind is resolved too', async () => {
    const { dir, service } = await web('volumes:\n  - type: bind\n    source: ./conf\n    target: /etc/conf');
    expect(service.volumes[0]?.source).toBe(join(dir, 'conf'));
  });
});

describe('environment, env_file and labels', () => {
  test('a list and a map mean the same', async () => {
    const a = (await web('environment:\n  - A=1\n  - B=x=y')).service.environment;
    const b = (await web('environment:\n  A: 1\n  B: x=y')).service.environment;
    expect(a).toEqual({ A: '1', B: 'x=y' });
    expect(b).toEqual(a);
  });

  test('a key alone comes from the environment, null when unset', async () => {
    const { service } = await web('environment:\n  - FROM_ENV\n  - MISSING', {}, { FROM_ENV: 'yes' });
    expect(service.environment).toEqual({ FROM_ENV: 'yes', MISSING: null });
  });

  test('env_file values are under environment', async () => {
    const { service } = await web('env_file: web.env\nenvironment:\n  B: own', { 'web.env': 'A=1\nB=file\n' });
    expect(service.environment).toEqual({ A: '1', B: 'own' });
  });

  test('a missing env_file is an error unless required: false', async () => {
    await expect(web('env_file: nope.env')).rejects.toThrow(/env file .*nope\.env not found/);
    const { service } = await web('env_file:\n  - path: nope.env\n    required: false');
    expect(service.environment).toEqual({});
  });

  test('labels list: key=value, key alone is empty', async () => {
    const { service } = await web('labels:\n  - a=1\n  - b');
    expect(service.labels).toEqual({ a: '1', b: '' });
  });
});

describe('other short syntaxes', () => {
  test('a command string is split as a shell does, without expansion', () => {
    expect(shellSplit(`sh -c 'echo "$HOME"' "a b" c\\ d`)).toEqual(['sh', '-c', 'echo "$HOME"', 'a b', 'c d']);
  });

  test('command and entrypoint strings become lists', async () => {
    const { service } = await web('command: python app.py --port 80\nentrypoint: ["/bin/sh", "-c"]');
    expect(service.command).toEqual(['python', 'app.py', '--port', '80']);
    expect(service.entrypoint).toEqual(['/bin/sh', '-c']);
  });

  test('a healthcheck test string is CMD-SHELL; disable is NONE', async () => {
    expect((await web('healthcheck:\n  test: curl -f localhost\n  interval: 5s')).service.healthcheck).toEqual({ test: ['CMD-SHELL', 'curl -f localhost'], interval: '5s' });
    expect((await web('healthcheck:\n  disable: true')).service.healthcheck?.test).toEqual(['NONE']);
  });

  test('depends_on list means service_started, required', async () => {
    const dir = await fixture({ 'compose.yaml': 'services:\n  web:\n    image: x\n    depends_on: [db]\n  db:\n    image: y\n' });
    const project = await loadProject({ cwd: dir, env: {} });
    expect(project.services.web?.depends_on).toEqual({ db: { condition: 'service_started', required: true, restart: false } });
  });

  test('networks list becomes a map, and the default network is named for the project', async () => {
    const project = await load({ 'compose.yaml': 'services:\n  web:\n    image: x\n    networks: [front]\n  db:\n    image: y\nnetworks:\n  front: {}\n' });
    expect(project.services.web?.networks).toEqual({ front: null });
    expect(project.services.db?.networks).toEqual({ default: null });
    expect(project.networks).toEqual({ front: { name: 'app_front', driver_opts: {}, labels: {} }, default: { name: 'app_default', driver_opts: {}, labels: {} } });
  });

  test('no default network when no service uses it', async () => {
    const project = await load({ 'compose.yaml': 'services:\n  web:\n    image: x\n    network_mode: host\n' });
    expect(project.services.web?.networks).toEqual({});
    expect(project.networks).toEqual({});
  });

  test('a build string is its context, made absolute, Dockerfile by default', async () => {
    const project = await load({ 'compose.yaml': 'services:\n  web:\n    build: ./app\n' });
    expect(project.services.web?.build).toMatchObject({ context: join(project.working_dir, 'app'), dockerfile: 'Dockerfile', args: {} });
  });

  test('a remote build context stays as written', async () => {
    const project = await load({ 'compose.yaml': 'services:\n  web:\n    build: https://example.com/repo.git#main\n' });
    expect(project.services.web?.build?.context).toBe('https://example.com/repo.git#main');
  });

  test('expose entries are strings', async () => {
    expect((await web('expose: [80, "90/udp"]')).service.expose).toEqual(['80', '90/udp']);
  });

  test('ulimits: a number is soft and hard', async () => {
    expect((await web('ulimits:\n  nproc: 65535\n  nofile:\n    soft: 1024\n    hard: 2048')).service.ulimits).toEqual({ nproc: { soft: 65535, hard: 65535 }, nofile: { soft: 1024, hard: 2048 } });
  });

  test('extra_hosts in every form become host:ip', async () => {
    expect((await web('extra_hosts:\n  - a=10.0.0.1\n  - b:10.0.0.2')).service.extra_hosts).toEqual(['a:10.0.0.1', 'b:10.0.0.2']);
    expect((await web('extra_hosts:\n  c: 10.0.0.3\n  d: ["::1", 10.0.0.4]')).service.extra_hosts).toEqual(['c:10.0.0.3', 'd:::1', 'd:10.0.0.4']);
  });

  test('deploy.replicas is the scale', async () => {
    expect((await web('deploy:\n  replicas: 3')).service.scale).toBe(3);
  });

  test('a bad duration names the field', async () => {
    await expect(web('stop_grace_period: "10"')).rejects.toThrow(/services\.web\.stop_grace_period: .*invalid duration/);
  });

  test('top-level volumes are named for the project; external ones keep their key or name', async () => {
    const project = await load({ 'compose.yaml': 'services:\n  web:\n    image: x\nvolumes:\n  data: {}\n  ext:\n    external: true\n  named:\n    name: exact\n' });
    expect(Object.values(project.volumes).map((v) => v.name)).toEqual(['app_data', 'ext', 'exact']);
  });

  test('secret files are made absolute', async () => {
    const project = await load({ 'compose.yaml': 'services:\n  web:\n    image: x\n    secrets: [token]\nsecrets:\n  token:\n    file: ./token.txt\n' });
    expect(project.secrets.token?.file).toBe(join(project.working_dir, 'token.txt'));
    expect(project.services.web?.secrets).toEqual([{ source: 'token' }]);
  });

});
