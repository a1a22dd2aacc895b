import { load, removeFixtures } from './load-support';

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

  test('the obsolete version attribute is warned about', async () => {
    const project = await load({ 'compose.yaml': 'version: "3.8"\nservices:\n  web:\n    image: a\n' });
    expect(project.warnings?.[0]).toMatch(/compose\.yaml: the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion$/);
  });
});
