import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { convertStack, deployStack, loadStack } from '@ctr/compose';
import type { Io } from '../src/command';
import { main } from '../src/main';
import { useSwarmForTests } from '../src/swarm-context';
import { MemoryNetworks, MemorySwarm } from '../../compose/test/stack-memory-swarm';

/**
 * `ctr stack` as docker's command line: help, flag and argument errors, and the listings'
 * output over a swarm given to the commands (the real Swarm is stack-e2e's).
 */
describe('ctr stack command line', () => {
  let dir: string;
  let swarm: MemorySwarm;

  async function ctr(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const chunks = { out: '', err: '' };
    stdout.on('data', (d: Buffer) => (chunks.out += d.toString()));
    stderr.on('data', (d: Buffer) => (chunks.err += d.toString()));
    const io: Io = { stdin: new PassThrough(), stdout, stderr, env: { PATH: process.env.PATH ?? '' } };
    const code = await main(['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), ...argv], io);
    return { code, stdout: chunks.out, stderr: chunks.err };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-stack-cli-'));
    swarm = new MemorySwarm();
    useSwarmForTests(swarm.api());
    const file = join(dir, 'stack.yml');
    await writeFile(file, 'services:\n  web:\n    image: busybox\n    ports: ["8080:80"]\n    deploy: {replicas: 2}\n  db:\n    image: busybox\n');
    const { project } = await loadStack({ files: [file], namespace: 'shop', env: {}, cwd: dir });
    await deployStack(swarm.api(), new MemoryNetworks(), await convertStack(project, 'shop'), { out: () => undefined, err: () => undefined });
  });
  afterAll(async () => {
    useSwarmForTests(undefined);
    await rm(dir, { recursive: true, force: true });
  });

  test('stack --help lists docker\'s sub-commands', async () => {
    const result = await ctr('stack', '--help');
    expect(result.code).toBe(0);
    for (const line of [/\n {2}config +Outputs the final config file, after doing merges and interpolations\n/, /\n {2}deploy +Deploy a new stack or update an existing stack\n/, /\n {2}rm +Remove one or more stacks\n/]) {
      expect(result.stdout).toMatch(line);
    }
  });

  test('deploy --help shows docker\'s flags and aliases', async () => {
    const result = await ctr('stack', 'deploy', '--help');
    expect(result.stdout).toContain('Usage:  ctr stack deploy [OPTIONS] STACK');
    expect(result.stdout).toContain('ctr stack deploy, ctr stack up');
    expect(result.stdout).toMatch(/-c, --compose-file strings +Path to a Compose file, or "-" to read from stdin/);
    expect(result.stdout).toMatch(/--resolve-image string +Query the registry/);
  });

  test('deploy without a STACK is cobra\'s argument error, exit 1', async () => {
    const result = await ctr('stack', 'deploy', '-c', 'x.yml');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("'ctr stack deploy' requires 1 argument");
  });

  test('deploy without a compose file asks for one', async () => {
    const result = await ctr('stack', 'deploy', 'shop');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('specify a Compose file (with --compose-file)\n');
  });

  test('deploy refuses an unknown --resolve-image', async () => {
    const result = await ctr('stack', 'deploy', '-c', 'x.yml', '--resolve-image', 'sometimes', 'shop');
    expect(result.stderr).toBe('Invalid option sometimes for flag --resolve-image\n');
  });

  test('ls prints NAME and SERVICES; list is its alias', async () => {
    const result = await ctr('stack', 'list');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('NAME      SERVICES\nshop      2\n');
  });

  test('services lists the stack\'s services as service ls does, sorted by name', async () => {
    const result = await ctr('stack', 'services', '--format', '{{.Name}} {{.Mode}} {{.Ports}}', 'shop');
    expect(result.stdout).toBe('shop_db replicated \nshop_web replicated *:8080->80/tcp\n');
  });

  test('services of an unknown stack is a note on stderr and success', async () => {
    const result = await ctr('stack', 'services', 'ghost');
    expect(result).toEqual({ code: 0, stdout: '', stderr: 'Nothing found in stack: ghost\n' });
  });

  test('ps lists the stack\'s tasks by service name and slot', async () => {
    const result = await ctr('stack', 'ps', '--format', '{{.Name}} {{.DesiredState}}', 'shop');
    expect(result.stdout).toBe('shop_db.1 Running\nshop_web.1 Running\n');
  });

  test('ps of an unknown stack is docker\'s error, exit 1', async () => {
    const result = await ctr('stack', 'ps', 'ghost');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('nothing found in stack: ghost\n');
  });

  test('config prints the merged file as a v3 file', async () => {
    await writeFile(join(dir, 'c.yml'), 'services:\n  web:\n    image: busybox:${TAG:-1}\n    ports: ["8080:80"]\n');
    const result = await ctr('stack', 'config', '-c', join(dir, 'c.yml'));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^version: "3.13"\nservices:\n {2}web:\n/);
    expect(result.stdout).toContain('image: busybox:1');
    expect(result.stdout).toContain('published: 8080\n');
  });

  test('config shows a network the file declares as docker does, without the name the loader gives it', async () => {
    await writeFile(join(dir, 'n.yml'), 'services:\n  web:\n    image: busybox\n    networks: [back]\nnetworks:\n  back: {}\n');
    const result = await ctr('stack', 'config', '-c', join(dir, 'n.yml'));
    expect(result.stdout).toBe('version: "3.13"\nservices:\n  web:\n    image: busybox\n    networks:\n      back: null\nnetworks:\n  back: {}\n');
  });
});
