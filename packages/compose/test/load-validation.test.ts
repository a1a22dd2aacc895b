import { fixture, load, removeFixtures } from './load-support';
import { loadProject } from '../src/load';

afterAll(removeFixtures);

function fails(yaml: string, message: string | RegExp): Promise<void> {
  return expect(load({ 'compose.yaml': yaml })).rejects.toThrow(message);
}

describe('validation', () => {
  test('an unknown service key', () =>
    fails('services:\n  web:\n    image: a\n    foo: 1\n', /validating .*compose\.yaml: services\.web additional properties 'foo' not allowed$/));

  test('an unknown top-level key', () => fails('services: {}\nfoo: 1\n', "(root) additional properties 'foo' not allowed"));

  test('x- extensions are allowed anywhere', async () => {
    const project = await load({ 'compose.yaml': 'x-common: &c\n  image: a\nservices:\n  web:\n    <<: *c\n    x-note: hi\n' });
    expect(project.services.web?.image).toBe('a');
  });

  test('a value of the wrong type', () => fails('services:\n  web:\n    image: [a]\n', 'services.web.image must be a string'));

  test('a service that is not a mapping', () => fails('services:\n  web: busybox\n', 'services.web must be a mapping'));

  test('a YAML syntax error names the file and line', () => fails('services:\n  web:\n    image: a\n   bad: [\n', /compose\.yaml: yaml: line \d+/));

  test('neither image nor build', () => fails('services:\n  web:\n    restart: always\n', 'service "web" has neither an image nor a build context specified: invalid compose project'));

  test('depends_on an undefined service', () =>
    fails('services:\n  web:\n    image: a\n    depends_on: [db]\n', 'service "web" depends on undefined service "db": invalid compose project'));

  test('an undefined network', () => fails('services:\n  web:\n    image: a\n    networks: [back]\n', 'service "web" refers to undefined network back: invalid compose project'));

  test('an undefined volume', () => fails('services:\n  web:\n    image: a\n    volumes: ["data:/data"]\n', 'service "web" refers to undefined volume data: invalid compose project'));

  test('an undefined secret', () => fails('services:\n  web:\n    image: a\n    secrets: [token]\n', 'service "web" refers to undefined secret token: invalid compose project'));

  test('container_name with more than one replica', () =>
    fails('services:\n  web:\n    image: a\n    container_name: w\n    scale: 2\n', "services.deploy.replicas: can't set container_name and web as container name must be unique: invalid compose project"));

  test('distinct scale and deploy.replicas', () =>
    fails('services:\n  web:\n    image: a\n    scale: 2\n    deploy:\n      replicas: 3\n', "services.web: can't set distinct values on 'scale' and 'deploy.replicas': invalid compose project"));

  test('network_mode together with networks', () =>
    fails('services:\n  web:\n    image: a\n    network_mode: host\n    networks: [default]\n', 'service web declares mutually exclusive `network_mode` and `networks`: invalid compose project'));

  test('an invalid port', () => fails('services:\n  web:\n    image: a\n    ports: ["80:80:80:80:x"]\n', 'invalid containerPort: x'));

  test('a top-level value that is not a mapping', () => fails('- web\n', /compose\.yaml: top-level object must be a mapping$/));

  test('a protocol other than tcp, udp or sctp', () => fails('services:\n  web:\n    image: a\n    ports: ["80/xyz"]\n', 'invalid proto: xyz'));

  test('port ranges of different lengths', () =>
    fails('services:\n  web:\n    image: a\n    ports: ["8000-8001:80-82"]\n', 'invalid ranges specified for container and host Ports: 80-82 and 8000-8001'));

  test('a volume with too many colons', () => fails('services:\n  web:\n    image: a\n    volumes: ["a:/b:ro:x"]\n', 'invalid spec: a:/b:ro:x: too many colons'));

  test('a command with an unclosed quote', () => fails('services:\n  web:\n    image: a\n    command: sh -c \'echo\n', 'invalid command line string: "sh -c \'echo"'));

  test('an env_file that is a directory names it', async () => {
    const dir = await fixture({ 'compose.yaml': 'services:\n  web:\n    image: a\n    env_file: conf\n', 'conf/x': '' });
    await expect(loadProject({ cwd: dir, env: {} })).rejects.toThrow(/^failed to read .*conf: EISDIR/);
  });

  test('an env_file syntax error names the file and line', () =>
    expect(load({ 'compose.yaml': 'services:\n  web:\n    image: a\n    env_file: bad.env\n', 'bad.env': 'A=1\nB="open\n' })).rejects.toThrow(
      /failed to read .*bad\.env: line 2: unterminated quoted value "open$/,
    ));

  test('an include cycle', () =>
    expect(load({ 'compose.yaml': 'include: [other.yaml]\nservices: {}\n', 'other.yaml': 'include: [compose.yaml]\n' })).rejects.toThrow(
      /include cycle detected: .*compose\.yaml -> .*other\.yaml -> .*compose\.yaml$/,
    ));

  test('a directory whose name keeps nothing of a project name', async () => {
    const dir = await fixture({ 'compose.yaml': 'services: {}\n' }, '__');
    await expect(loadProject({ cwd: dir, env: {} })).rejects.toThrow('project name must not be empty');
  });

  test('`-f -` with no standard input to read', async () => {
    const dir = await fixture({});
    await expect(loadProject({ cwd: dir, env: {}, files: ['-'] })).rejects.toThrow('compose file "-" needs standard input');
  });

  test('the obsolete version attribute is warned about', async () => {
    const project = await load({ 'compose.yaml': 'version: "3.8"\nservices:\n  web:\n    image: a\n' });
    expect(project.warnings?.[0]).toMatch(/compose\.yaml: the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion$/);
  });
});
