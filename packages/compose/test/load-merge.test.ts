import { join } from 'node:path';
import { fixture, load, removeFixtures } from './load-support';
import { loadProject } from '../src/load';

afterAll(removeFixtures);

/** Loads base.yaml then override.yaml. */
async function merged(base: string, override: string) {
  const dir = await fixture({ 'base.yaml': base, 'override.yaml': override });
  return loadProject({ cwd: dir, env: {}, files: ['base.yaml', 'override.yaml'] });
}

describe('merging -f files', () => {
  test('scalars are replaced', async () => {
    const project = await merged('services:\n  web:\n    image: a\n    restart: always\n', 'services:\n  web:\n    image: b\n');
    expect(project.services.web).toMatchObject({ image: 'b', restart: 'always' });
  });

  test('a service only in the override is added', async () => {
    const project = await merged('services:\n  web:\n    image: a\n', 'services:\n  db:\n    image: b\n');
    expect(Object.keys(project.services)).toEqual(['web', 'db']);
  });

  test('environment merges by key across list and map forms', async () => {
    const project = await merged('services:\n  web:\n    image: a\n    environment: [A=1, B=2]\n', 'services:\n  web:\n    environment:\n      B: 3\n      C: 4\n');
    expect(project.services.web?.environment).toEqual({ A: '1', B: '3', C: '4' });
  });

  test('labels merge by key', async () => {
    const project = await merged('services:\n  web:\n    image: a\n    labels: [a=1]\n', 'services:\n  web:\n    labels: [b=2]\n');
    expect(project.services.web?.labels).toEqual({ a: '1', b: '2' });
  });

  test('command is replaced, not appended', async () => {
    const project = await merged('services:\n  web:\n    image: a\n    command: run --slow\n', 'services:\n  web:\n    command: ["run", "--fast"]\n');
    expect(project.services.web?.command).toEqual(['run', '--fast']);
  });

  test('ports are merged by their published address, the rest appended', async () => {
    const project = await merged(
      'services:\n  web:\n    image: a\n    ports: ["8080:80", "9090:90"]\n',
      'services:\n  web:\n    ports:\n      - target: 80\n        published: "8080"\n        name: http\n      - "7070:70"\n',
    );
    expect(project.services.web?.ports).toEqual([
      { name: 'http', mode: 'ingress', target: 80, published: '8080', protocol: 'tcp' },
      { mode: 'ingress', target: 90, published: '9090', protocol: 'tcp' },
      { mode: 'ingress', target: 70, published: '7070', protocol: 'tcp' },
    ]);
  });

  test('volumes are merged by target', async () => {
    const project = await merged('services:\n  web:\n    image: a\n    volumes: ["./a:/data", "/cache"]\n', 'services:\n  web:\n    volumes: ["./b:/data:ro"]\n');
    expect(project.services.web?.volumes.map((v) => [v.source, v.target, v.read_only])).toEqual([
      [join(project.working_dir, 'b'), '/data', true],
      [undefined, '/cache', undefined],
    ]);
  });

  test('plain lists are appended without duplicates', async () => {
    const project = await merged('services:\n  web:\n    image: a\n    dns: [192.0.2.1]\n    cap_add: [NET_ADMIN]\n', 'services:\n  web:\n    dns: 192.0.2.2\n    cap_add: [NET_ADMIN, SYS_TIME]\n');
    expect(project.services.web?.dns).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(project.services.web?.cap_add).toEqual(['NET_ADMIN', 'SYS_TIME']);
  });

  test('logging options merge when the driver is the same, are replaced when it differs', async () => {
    const same = await merged('services:\n  web:\n    image: a\n    logging:\n      driver: json-file\n      options: {max-size: 1m}\n', 'services:\n  web:\n    logging:\n      options: {max-file: "3"}\n');
    expect(same.services.web?.logging).toEqual({ driver: 'json-file', options: { 'max-size': '1m', 'max-file': '3' } });
    const other = await merged('services:\n  web:\n    image: a\n    logging:\n      driver: json-file\n      options: {max-size: 1m}\n', 'services:\n  web:\n    logging:\n      driver: syslog\n');
    expect(other.services.web?.logging).toEqual({ driver: 'syslog', options: {} });
  });

  test('!reset removes what the base set', async () => {
    const project = await merged('services:\n  web:\n    image: a\n    ports: ["80:80"]\n    environment: {A: "1"}\n', 'services:\n  web:\n    ports: !reset []\n    environment: !reset {}\n');
    expect(project.services.web?.ports).toEqual([]);
    expect(project.services.web?.environment).toEqual({});
  });

  test('!override replaces instead of merging', async () => {
    const project = await merged('services:\n  web:\n    image: a\n    ports: ["80:80"]\n', 'services:\n  web:\n    ports: !override ["81:81"]\n');
    expect(project.services.web?.ports.map((p) => p.published)).toEqual(['81']);
  });

  test('env_file lists are appended, environment still wins', async () => {
    const dir = await fixture({
      'base.yaml': 'services:\n  web:\n    image: a\n    env_file: a.env\n',
      'override.yaml': 'services:\n  web:\n    env_file: b.env\n',
      'a.env': 'A=1\nB=1\n',
      'b.env': 'B=2\n',
    });
    const project = await loadProject({ cwd: dir, env: {}, files: ['base.yaml', 'override.yaml'] });
    expect(project.services.web?.environment).toEqual({ A: '1', B: '2' });
  });

  test('a later name: wins', async () => {
    const project = await merged('name: one\nservices:\n  web:\n    image: a\n', 'name: two\n');
    expect(project.name).toBe('two');
  });
});

describe('extends', () => {
  test('a service extends another of the same file', async () => {
    const project = await load({
      'compose.yaml': 'services:\n  base:\n    image: a\n    environment: {A: "1"}\n  web:\n    extends: base\n    environment: {B: "2"}\n',
    });
    expect(project.services.web).toMatchObject({ image: 'a', environment: { A: '1', B: '2' } });
  });

  test('a service extends one of another file, whose paths stay relative to it', async () => {
    const dir = await fixture({
      'compose.yaml': 'services:\n  web:\n    extends:\n      file: common/base.yaml\n      service: app\n    image: mine\n',
      'common/base.yaml': 'services:\n  app:\n    image: theirs\n    build: ./src\n',
    });
    const project = await loadProject({ cwd: dir, env: {} });
    expect(project.services.web?.image).toBe('mine');
    expect(project.services.web?.build?.context).toBe(join(dir, 'common', 'src'));
  });

  test('extending a missing service is an error', async () => {
    await expect(load({ 'compose.yaml': 'services:\n  web:\n    extends: nope\n' })).rejects.toThrow('cannot extend service "web"');
  });

  test('an extends cycle is an error', async () => {
    await expect(load({ 'compose.yaml': 'services:\n  a:\n    extends: b\n  b:\n    extends: a\n' })).rejects.toThrow('circular reference with extends');
  });
});

describe('include', () => {
  test('an included file adds its services, its paths relative to its own directory', async () => {
    const dir = await fixture({
      'compose.yaml': 'include:\n  - db/compose.yaml\nservices:\n  web:\n    image: a\n    depends_on: [db]\n',
      'db/compose.yaml': 'services:\n  db:\n    image: postgres\n    volumes: ["./init:/docker-entrypoint-initdb.d"]\n',
    });
    const project = await loadProject({ cwd: dir, env: {} });
    expect(Object.keys(project.services).sort()).toEqual(['db', 'web']);
    expect(project.services.db?.volumes[0]?.source).toBe(join(dir, 'db', 'init'));
  });

  test('a service defined both in the file and in an include is a conflict', async () => {
    await expect(
      load({ 'compose.yaml': 'include: [other.yaml]\nservices:\n  web:\n    image: a\n', 'other.yaml': 'services:\n  web:\n    image: b\n' }),
    ).rejects.toThrow(/imported compose file .*other\.yaml defines conflicting service web/);
  });
});
