import { projectConfig } from '../src/load';
import { load, removeFixtures } from './load-support';

afterAll(removeFixtures);

const compose = `services:
  web:
    build: .
    ports:
      - "5000:5000"
    depends_on: [redis]
    environment:
      Z: last
      A: first
  redis:
    image: redis:alpine
volumes:
  data: {}
`;

describe('compose config', () => {
  test('prints name first, services sorted, long forms and project names', async () => {
    const project = await load({ 'compose.yaml': compose });
    const dir = project.working_dir;
    expect(projectConfig(project)).toBe(`name: app
services:
  redis:
    image: redis:alpine
    networks:
      default: null
  web:
    build:
      context: ${dir}
      dockerfile: Dockerfile
    depends_on:
      redis:
        condition: service_started
        required: true
    environment:
      A: first
      Z: last
    networks:
      default: null
    ports:
      - mode: ingress
        target: 5000
        published: "5000"
        protocol: tcp
networks:
  default:
    name: app_default
volumes:
  data:
    name: app_data
`);
  });

  test('--format json prints the same document as JSON', async () => {
    const project = await load({ 'compose.yaml': compose });
    const json = JSON.parse(projectConfig(project, { format: 'json' })) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['name', 'services', 'networks', 'volumes']);
    expect(Object.keys(json.services as object)).toEqual(['redis', 'web']);
  });

  test('only the services asked for', async () => {
    const project = await load({ 'compose.yaml': compose });
    const json = JSON.parse(projectConfig(project, { format: 'json', services: ['redis'] })) as { services: object };
    expect(Object.keys(json.services)).toEqual(['redis']);
  });

  test('the scale shows only when it is not 1', async () => {
    const project = await load({ 'compose.yaml': 'services:\n  web:\n    image: a\n    scale: 2\n' });
    expect(projectConfig(project)).toContain('    scale: 2\n');
  });

  test('keys the model does not type are printed as written', async () => {
    const project = await load({ 'compose.yaml': 'services:\n  web:\n    image: a\n    develop:\n      watch:\n        - path: ./src\n          action: sync\n          target: /app\n' });
    expect(projectConfig(project)).toContain('    develop:\n      watch:\n        - path: ./src\n');
  });
});
