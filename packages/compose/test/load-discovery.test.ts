import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadProject } from '../src/load';
import { fixture, removeFixtures } from './load-support';

afterAll(removeFixtures);

const web = 'services:\n  web:\n    image: busybox\n';

describe('compose file discovery', () => {
  test('finds compose.yaml in the working directory', async () => {
    const dir = await fixture({ 'compose.yaml': web });
    const project = await loadProject({ cwd: dir, env: {} });
    expect(project.config_files).toEqual([join(dir, 'compose.yaml')]);
    expect(project.working_dir).toBe(dir);
  });

  test('finds the compose file of the nearest parent directory', async () => {
    const dir = await fixture({ 'docker-compose.yml': web });
    const sub = join(dir, 'src', 'deep');
    await mkdir(sub, { recursive: true });
    const project = await loadProject({ cwd: sub, env: {} });
    expect(project.config_files).toEqual([join(dir, 'docker-compose.yml')]);
    expect(project.working_dir).toBe(dir);
    expect(project.name).toBe('app');
  });

  test('prefers compose.yaml over docker-compose.yaml and warns about both', async () => {
    const dir = await fixture({ 'compose.yaml': web, 'docker-compose.yaml': 'services:\n  other:\n    image: x\n' });
    const project = await loadProject({ cwd: dir, env: {} });
    expect(Object.keys(project.services)).toEqual(['web']);
    expect(project.warnings).toEqual([
      `Found multiple config files with supported names: ${join(dir, 'compose.yaml')}, ${join(dir, 'docker-compose.yaml')}`,
      `Using ${join(dir, 'compose.yaml')}`,
    ]);
  });

  test('merges the override file found next to the compose file', async () => {
    const dir = await fixture({ 'compose.yaml': web, 'compose.override.yaml': 'services:\n  web:\n    image: busybox:override\n' });
    const project = await loadProject({ cwd: dir, env: {} });
    expect(project.config_files).toEqual([join(dir, 'compose.yaml'), join(dir, 'compose.override.yaml')]);
    expect(project.services.web?.image).toBe('busybox:override');
  });

  test('reads -f files in the order given, without looking for an override', async () => {
    const dir = await fixture({
      'base.yaml': web,
      'prod.yaml': 'services:\n  web:\n    image: busybox:prod\n',
      'compose.override.yaml': 'services:\n  web:\n    image: never\n',
    });
    const project = await loadProject({ cwd: dir, env: {}, files: ['base.yaml', 'prod.yaml'] });
    expect(project.config_files).toEqual([join(dir, 'base.yaml'), join(dir, 'prod.yaml')]);
    expect(project.services.web?.image).toBe('busybox:prod');
  });

  test('takes the files from COMPOSE_FILE, split on COMPOSE_PATH_SEPARATOR', async () => {
    const dir = await fixture({ 'a.yaml': web, 'b.yaml': 'services:\n  web:\n    image: busybox:b\n' });
    const project = await loadProject({ cwd: dir, env: { COMPOSE_FILE: 'a.yaml;b.yaml', COMPOSE_PATH_SEPARATOR: ';' } });
    expect(project.config_files).toEqual([join(dir, 'a.yaml'), join(dir, 'b.yaml')]);
    expect(project.services.web?.image).toBe('busybox:b');
  });

  test('reads COMPOSE_FILE from the .env file', async () => {
    const dir = await fixture({ 'one.yaml': web, '.env': 'COMPOSE_FILE=one.yaml\n' });
    const project = await loadProject({ cwd: dir, env: {} });
    expect(project.config_files).toEqual([join(dir, 'one.yaml')]);
  });

  test('reads `-f -` from standard input, relative to the working directory', async () => {
    const dir = await fixture({});
    const project = await loadProject({ cwd: dir, env: {}, files: ['-'], stdin: async () => 'services:\n  web:\n    build: ./ctx\n' });
    expect(project.config_files).toEqual(['-']);
    expect(project.services.web?.build?.context).toBe(join(dir, 'ctx'));
  });

  test('fails as compose does when there is no compose file', async () => {
    const dir = await fixture({});
    await expect(loadProject({ cwd: dir, env: {} })).rejects.toThrow('no configuration file provided: not found');
  });

  test('names a missing -f file', async () => {
    const dir = await fixture({});
    await expect(loadProject({ cwd: dir, env: {}, files: ['nope.yaml'] })).rejects.toThrow(`open ${join(dir, 'nope.yaml')}: no such file or directory`);
  });

  test('--project-directory sets the working directory and where .env is read', async () => {
    const dir = await fixture({ 'compose.yaml': 'services:\n  web:\n    image: busybox:${TAG}\n    build: ./ctx\n', 'other/.env': 'TAG=other\n' });
    const project = await loadProject({ cwd: dir, env: {}, files: ['compose.yaml'], projectDirectory: 'other' });
    expect(project.working_dir).toBe(join(dir, 'other'));
    expect(project.services.web?.image).toBe('busybox:other');
    expect(project.services.web?.build?.context).toBe(join(dir, 'other', 'ctx'));
  });
});

describe('project name', () => {
  test('defaults to the project directory name, normalised', async () => {
    const dir = await fixture({ 'compose.yaml': web }, '_My.App-2');
    expect((await loadProject({ cwd: dir, env: {} })).name).toBe('myapp-2');
  });

  test('-p wins over COMPOSE_PROJECT_NAME and name:', async () => {
    const dir = await fixture({ 'compose.yaml': `name: fromfile\n${web}` });
    expect((await loadProject({ cwd: dir, env: { COMPOSE_PROJECT_NAME: 'fromenv' }, projectName: 'fromflag' })).name).toBe('fromflag');
  });

  test('COMPOSE_PROJECT_NAME wins over name:', async () => {
    const dir = await fixture({ 'compose.yaml': `name: fromfile\n${web}` });
    expect((await loadProject({ cwd: dir, env: { COMPOSE_PROJECT_NAME: 'fromenv' } })).name).toBe('fromenv');
  });

  test('the top-level name: wins over the directory, interpolated', async () => {
    const dir = await fixture({ 'compose.yaml': `name: shop-\${STAGE}\n${web}` });
    expect((await loadProject({ cwd: dir, env: { STAGE: 'dev' } })).name).toBe('shop-dev');
  });

  test('an explicit invalid name is compose\'s error', async () => {
    const dir = await fixture({ 'compose.yaml': web });
    await expect(loadProject({ cwd: dir, env: {}, projectName: 'My_App' })).rejects.toThrow(
      '"My_App" is not a valid project name: it must contain only characters from [a-z0-9_-] and start with [a-z0-9]',
    );
  });

  test('a name: that is not valid is refused too', async () => {
    const dir = await fixture({ 'compose.yaml': `name: -bad\n${web}` });
    await expect(loadProject({ cwd: dir, env: {} })).rejects.toThrow('"-bad" is not a valid project name');
  });

  test('the project name is offered to interpolation as COMPOSE_PROJECT_NAME', async () => {
    const dir = await fixture({ 'compose.yaml': 'services:\n  web:\n    image: busybox\n    hostname: ${COMPOSE_PROJECT_NAME}-web\n' });
    expect((await loadProject({ cwd: dir, env: {}, projectName: 'shop' })).services.web?.hostname).toBe('shop-web');
  });
});
