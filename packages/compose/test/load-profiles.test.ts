import { load, removeFixtures } from './load-support';

afterAll(removeFixtures);

const compose = `services:
  web:
    image: a
  debug:
    image: b
    profiles: [debug]
  tools:
    image: c
    profiles: [tools, debug]
`;

describe('profiles', () => {
  test('services with profiles are disabled when none is active', async () => {
    const project = await load({ 'compose.yaml': compose });
    expect(Object.keys(project.services)).toEqual(['web']);
    expect(Object.keys(project.disabled_services)).toEqual(['debug', 'tools']);
  });

  test('--profile enables the services of that profile', async () => {
    const project = await load({ 'compose.yaml': compose }, { profiles: ['tools'] });
    expect(Object.keys(project.services)).toEqual(['web', 'tools']);
  });

  test('COMPOSE_PROFILES is a comma-separated list', async () => {
    const project = await load({ 'compose.yaml': compose }, { env: { COMPOSE_PROFILES: 'debug,other' } });
    expect(Object.keys(project.services)).toEqual(['web', 'debug', 'tools']);
  });

  test('the * profile enables everything', async () => {
    const project = await load({ 'compose.yaml': compose }, { profiles: ['*'] });
    expect(Object.keys(project.disabled_services)).toEqual([]);
  });

  test('a service named on the command line is enabled with its profiles', async () => {
    const project = await load({ 'compose.yaml': compose }, { services: ['debug'] });
    expect(Object.keys(project.services)).toEqual(['web', 'debug', 'tools']);
  });

  test('a required dependency on a disabled service is compose\'s error', async () => {
    await expect(load({ 'compose.yaml': `${compose}  app:\n    image: d\n    depends_on: [debug]\n` })).rejects.toThrow(
      'service debug is required by app but is disabled. Can be enabled by profiles [debug]',
    );
  });

  test('an optional dependency on a disabled service is dropped with a warning', async () => {
    const project = await load({ 'compose.yaml': `${compose}  app:\n    image: d\n    depends_on:\n      debug:\n        condition: service_started\n        required: false\n` });
    expect(project.services.app?.depends_on).toEqual({});
    expect(project.warnings?.some((w) => w.includes('debug'))).toBe(true);
  });
});
