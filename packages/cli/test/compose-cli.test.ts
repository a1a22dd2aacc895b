import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctrOn, type CtrOn, type CtrResult } from './local-ctr';

/**
 * `ctr compose` as docker compose v2's command line, where no container is involved: its help,
 * its flag errors, `config`, `version`, and the listings of a project that has nothing yet.
 */
describe('ctr compose command line', () => {
  let dir: string;
  let app: string;
  let ctr: CtrOn;
  const env = { ...process.env, NO_COLOR: '', COMPOSE_PROJECT_NAME: '', COMPOSE_FILE: '', COMPOSE_PROFILES: '' };
  const compose = (...args: string[]): Promise<CtrResult> => ctr.runWith({ env, cwd: app }, 'compose', ...args);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-cli-compose-cli-'));
    app = join(dir, 'My App');
    await mkdir(app);
    await writeFile(
      join(app, 'compose.yaml'),
      [
        'services:',
        '  web:',
        '    build: .',
        '    ports: ["5000:5000"]',
        '  worker:',
        '    image: busybox',
        '    command: ["echo", "${GREETING}"]',
        '  debug:',
        '    image: busybox',
        '    profiles: [tools]',
        'volumes:',
        '  data: {}',
        '',
      ].join('\n'),
    );
    await writeFile(join(app, 'other.yaml'), 'services:\n  solo:\n    image: busybox\n');
    ctr = ctrOn(join(dir, 'root'), join(dir, 'run'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('compose --help lists the project flags and the sub-commands', async () => {
    const result = await compose('--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage:  ctr compose [OPTIONS] COMMAND');
    expect(result.stdout).toContain('Define and run multi-container applications');
    expect(result.stdout).toMatch(/-f, --file stringArray +Compose configuration files/);
    expect(result.stdout).toMatch(/-p, --project-name string +Project name/);
    expect(result.stdout).toMatch(/\n {2}up +Create and start containers\n/);
    expect(result.stdout).toMatch(/\n {2}down +Stop and remove containers, networks\n/);
  });

  test('ctr --help lists compose with the management commands', async () => {
    const result = await ctr.run('--help');
    const management = result.stdout.slice(result.stdout.indexOf('Management Commands:'), result.stdout.indexOf('\nCommands:'));
    expect(management).toMatch(/\n {2}compose +Docker Compose\n/);
  });

  test('each sub-command has its help, with its own usage', async () => {
    const up = await compose('up', '--help');
    expect(up.code).toBe(0);
    expect(up.stdout).toContain('Usage:  ctr compose up [OPTIONS] [SERVICE...]');
    expect(up.stdout).toMatch(/-d, --detach +Detached mode: Run containers in the background/);
    const exec = await compose('exec', '--help');
    expect(exec.stdout).toContain('Usage:  ctr compose exec [OPTIONS] SERVICE COMMAND [ARGS...]');
  });

  test('an unknown sub-command is an error with status 1', async () => {
    const result = await compose('frob');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('unknown command: ctr compose frob');
  });

  test('an unknown flag is a usage error, with the sub-command usage', async () => {
    const result = await compose('up', '--frob');
    expect(result.code).toBe(125);
    expect(result.stderr).toBe("unknown flag: --frob\n\nUsage:  ctr compose up [OPTIONS] [SERVICE...]\n\nRun 'ctr compose up --help' for more information\n");
  });

  test('flags compose finds incompatible are refused in its words, status 1', async () => {
    expect(await compose('up', '--build', '--no-build')).toMatchObject({ code: 1, stderr: '--build and --no-build are incompatible\n' });
    expect(await compose('up', '-d', '--abort-on-container-exit')).toMatchObject({ code: 1, stderr: expect.stringContaining('--detach cannot be combined with --abort-on-container-exit') });
    expect(await compose('--progress', 'tty', '--ansi', 'never', 'ps')).toMatchObject({ code: 1, stderr: "can't use --progress tty while ANSI support is disabled\n" });
    expect(await compose('--progress', 'fancy', 'ps')).toMatchObject({ code: 1, stderr: 'unsupported --progress value "fancy"\n' });
  });

  test('config prints the project in canonical form, named for its directory', async () => {
    const result = await compose('config');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^name: myapp\nservices:\n/);
    expect(result.stdout).toContain(`context: ${app}`);
    expect(result.stdout).not.toContain('debug:');
  });

  test('config warns of an unset variable as compose does, and interpolates it blank', async () => {
    const result = await compose('config', '--format', 'json');
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^time="[^"]+" level=warning msg="The \\"GREETING\\" variable is not set\. Defaulting to a blank string\."\n$/);
    expect(JSON.parse(result.stdout).services.worker.command).toEqual(['echo', '']);
  });

  test('config lists services, volumes, images and profiles one a line', async () => {
    expect((await compose('config', '--services')).stdout).toBe('web\nworker\n');
    expect((await compose('config', '--volumes')).stdout).toBe('data\n');
    expect((await compose('config', '--images')).stdout).toBe('busybox\nmyapp-web\n');
    expect((await compose('config', '--profiles')).stdout).toBe('tools\n');
    expect((await compose('--profile', 'tools', 'config', '--services')).stdout).toBe('debug\nweb\nworker\n');
  });

  test('config -q validates and prints nothing', async () => {
    expect(await compose('config', '-q')).toMatchObject({ code: 0, stdout: '' });
  });

  test('-f and -p choose the file and the project name', async () => {
    const result = await compose('-f', 'other.yaml', '-p', 'custom', 'config', '--format', 'json');
    expect(result.code).toBe(0);
    const project = JSON.parse(result.stdout);
    expect(project.name).toBe('custom');
    expect(Object.keys(project.services)).toEqual(['solo']);
  });

  test('a service the project lacks is compose\'s error', async () => {
    expect(await compose('config', 'nosuch')).toMatchObject({ code: 1, stderr: expect.stringContaining('no such service: nosuch') });
  });

  test('version says the compose version ctr follows, in each format', async () => {
    expect(await compose('version')).toMatchObject({ code: 0, stdout: 'Docker Compose version v2.29.7\n' });
    expect((await compose('version', '--short')).stdout).toBe('2.29.7\n');
    expect((await compose('version', '--format', 'json')).stdout).toBe('{"version":"v2.29.7"}\n');
  });

  test('ps of a project with no containers prints the header alone', async () => {
    const result = await compose('ps');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('NAME      IMAGE     COMMAND   SERVICE   CREATED   STATUS    PORTS\n');
  });

  test('ls lists no project on an empty engine, in each format', async () => {
    expect(await compose('ls')).toMatchObject({ code: 0, stdout: 'NAME                STATUS              CONFIG FILES\n' });
    expect((await compose('ls', '--format', 'json')).stdout).toBe('[]\n');
    expect(await compose('ls', '--format', 'yaml')).toMatchObject({ code: 1, stderr: 'format value "yaml" could not be parsed: parsing failed\n' });
  });
});
