/**
 * The image commands' docker flags, the same in-process and through a daemon (`ctr -H`):
 * `pull -a` and `push -a` against real registries on 127.0.0.1 (the Debian `docker-registry`
 * and ctr's own server), `history -H/--human`, `--format` and `--platform`, `--platform` on
 * save, load and import, and `rmi --no-prune`. Output and errors as docker's.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatPlatform, hostPlatform } from '@ctr/image';
import type { RegistryClient, RegistryServer } from '@ctr/registry';
import { startBothRegistries, type BothRegistries } from '../../registry/test/support/both-registries';
import type { DockerRegistry } from '../../registry/test/support/processes';
import { commandHelp } from '../src/help';
import { imageCommands } from '../src/commands/images';
import { localCtr, type LocalCtr } from './local-ctr';
import { cleanEnv, ctr as runCtr, startTestDaemon, type Result, type TestDaemon } from './remote-fixture';

const HOST = formatPlatform(hostPlatform());
/** A platform that is not this machine's. */
const OTHER = HOST === 'linux/arm64' ? 'linux/amd64' : 'linux/arm64';

let registries: BothRegistries | undefined;
let work: string;
let ctrRegistry: RegistryServer;
let distribution: DockerRegistry;
let registryClient: RegistryClient;

beforeAll(async () => {
  registries = await startBothRegistries('ctr-cli-image-flags-');
  ({ work, ctrRegistry, distribution, registryClient } = registries);
  await mkdir(join(work, 'docker-config'));
});

afterAll(async () => {
  await registries?.close();
});

/** Where a mode's ctr runs: on a root of its own, or against a ctrd. */
interface Mode {
  run(...args: string[]): Promise<Result>;
  cleanup(): Promise<void>;
}

async function local(): Promise<Mode> {
  const ctr: LocalCtr = await localCtr('image-flags');
  const env = { ...process.env, DOCKER_CONFIG: join(work, 'docker-config') };
  return { run: (...args) => ctr.runWith({ env }, ...args), cleanup: () => ctr.cleanup() };
}

async function remote(): Promise<Mode> {
  const t: TestDaemon = await startTestDaemon();
  const env = cleanEnv({ CTR_CONFIG: join(work, 'ctr-config'), DOCKER_CONFIG: join(work, 'docker-config') });
  return {
    run: (...args) => runCtr(['-H', `unix://${t.socket}`, ...args], { env }),
    async cleanup() {
      expect(t.internalErrors).toEqual([]);
      await t.cleanup();
    },
  };
}

/** Output lines with each layer's line, each digest and each size made generic. */
const lines = (text: string): string[] =>
  text
    .trim()
    .split('\n')
    .map((line) => line.replace(/^[0-9a-f]{12}: .*/, 'LAYER').replace(/sha256:[0-9a-f]{64}/, 'sha256:DIGEST').replace(/size: \d+$/, 'size: N'));

describe.each([
  ['in-process', local],
  ['through ctrd (-H)', remote],
])('%s', (mode, start) => {
  let ctr: Mode;
  /** A repository name of this mode's own in `registry`. */
  const repo = (registry: string, name: string): string => `${registry}/${mode.startsWith('in') ? 'local' : 'remote'}/${name}`;

  beforeAll(async () => {
    ctr = await start();
  });

  afterAll(async () => {
    await ctr?.cleanup();
  });

  /** A one-file image named `name`, its ID its own (the message differs). */
  async function smallImage(name: string): Promise<void> {
    const dir = await mkdtemp(join(work, 'rootfs-'));
    await writeFile(join(dir, 'which'), name);
    const imported = await ctr.run('import', '-m', name, dir, name);
    if (imported.code !== 0) throw new Error(`ctr import: ${imported.stderr}`);
  }

  async function ok(...args: string[]): Promise<Result> {
    const result = await ctr.run(...args);
    if (result.code !== 0) throw new Error(`ctr ${args.join(' ')}: ${result.stderr}`);
    return result;
  }

  test('push -a pushes every local tag of the repository: the repository once, then each tag\'s digest line', async () => {
    const name = repo(ctrRegistry.host, 'push-all');
    await smallImage(`${name}:v1`);
    await smallImage(`${name}:v2`);
    const pushed = await ctr.run('push', '-a', name);
    expect(pushed).toMatchObject({ code: 0, stderr: '' });
    expect(lines(pushed.stdout).filter((line) => line !== 'LAYER')).toEqual([
      `The push refers to repository [${name}]`,
      'v1: digest: sha256:DIGEST size: N',
      'v2: digest: sha256:DIGEST size: N',
    ]);
    expect(lines(pushed.stdout)).toContain('LAYER');
    expect((await registryClient.listTags(name)).sort()).toEqual(['v1', 'v2']);
  });

  test("push -a of a name with a tag is docker's error, and pushes nothing", async () => {
    const name = repo(ctrRegistry.host, 'push-tagged');
    await smallImage(`${name}:v1`);
    expect(await ctr.run('push', '-a', `${name}:v1`)).toEqual({ code: 1, stdout: '', stderr: "tag can't be used with --all-tags/-a\n" });
    await expect(registryClient.listTags(name)).rejects.toMatchObject({ code: 'NotFound' });
  });

  test('push of a name without a tag says it pushes latest, as docker does', async () => {
    const name = repo(ctrRegistry.host, 'push-default');
    await smallImage(name);
    const pushed = await ctr.run('push', name);
    expect(pushed.code).toBe(0);
    expect(lines(pushed.stdout).slice(0, 2)).toEqual(['Using default tag: latest', `The push refers to repository [${name}]`]);
    expect(lines(pushed.stdout).pop()).toBe('latest: digest: sha256:DIGEST size: N');
  });

  test('push -q prints only the reference it pushed, in full', async () => {
    const name = repo(ctrRegistry.host, 'push-quiet');
    await smallImage(`${name}:v1`);
    expect(await ctr.run('push', '-q', `${name}:v1`)).toEqual({ code: 0, stdout: `${name}:v1\n`, stderr: '' });
    expect(await ctr.run('push', '-a', '-q', name)).toEqual({ code: 0, stdout: `${name}\n`, stderr: '' });
  });

  test("pull -a pulls every tag the registry lists: each tag's lines, then one outcome for the repository and its name", async () => {
    const name = repo(distribution.host, 'pull-all');
    for (const tag of ['a', 'b']) {
      await smallImage(`${name}:${tag}`);
      await ok('push', `${name}:${tag}`);
      await ok('rmi', `${name}:${tag}`);
    }
    const pulled = await ctr.run('pull', '-a', name);
    expect(pulled).toMatchObject({ code: 0, stderr: '' });
    const shown = lines(pulled.stdout).filter((line) => line !== 'LAYER');
    const order = shown.flatMap((line) => /^(\w+): Pulling from /.exec(line)?.[1] ?? []);
    expect([...order].sort()).toEqual(['a', 'b']);
    const path = name.slice(name.indexOf('/') + 1);
    expect(shown).toEqual([
      ...order.flatMap((tag) => [`${tag}: Pulling from ${path}`, 'Digest: sha256:DIGEST']),
      `Status: Downloaded newer image for ${name}`,
      name,
    ]);
    const images = await ctr.run('images', '--format', '{{.Repository}}:{{.Tag}}', name);
    expect(images.stdout.split('\n').filter(Boolean).sort()).toEqual([`${name}:a`, `${name}:b`]);
  });

  test('pull -a of tags that already name what the registry has ends "Image is up to date" for the repository', async () => {
    const name = repo(distribution.host, 'pull-again');
    await smallImage(`${name}:one`);
    await ok('push', `${name}:one`);
    const pulled = await ctr.run('pull', '-a', name);
    expect(lines(pulled.stdout).slice(-2)).toEqual([`Status: Image is up to date for ${name}`, name]);
  });

  test('pull -a -q prints only the repository', async () => {
    const name = repo(distribution.host, 'pull-quiet');
    await smallImage(`${name}:one`);
    await ok('push', `${name}:one`);
    expect(await ctr.run('pull', '-a', '-q', name)).toEqual({ code: 0, stdout: `${name}\n`, stderr: '' });
  });

  test("pull -a of a name with a tag is docker's error, and pulls nothing", async () => {
    expect(await ctr.run('pull', '--all-tags', `${distribution.host}/any/app:v1`)).toEqual({ code: 1, stdout: '', stderr: "tag can't be used with --all-tags/-a\n" });
  });

  test('history --human=false prints CREATED AT as RFC 3339 and SIZE in bytes', async () => {
    const created = (await ok('image', 'inspect', '--format', '{{.Created}}', 'busybox')).stdout.trim();
    const size = (await ok('history', '--format', '{{.Size}}', '--human=false', 'busybox')).stdout.trim();
    const table = await ok('history', '--human=false', 'busybox');
    const [header, row = ''] = table.stdout.split('\n');
    expect(header).toMatch(/^IMAGE\s+CREATED AT\s+CREATED BY\s+SIZE\s+COMMENT$/);
    // Local time with its offset, as Go formats it: the same instant as the image's creation.
    const shown = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d)/.exec(row)?.[0] ?? '';
    expect(new Date(shown).getTime()).toBe(Math.floor(new Date(created).getTime() / 1000) * 1000);
    expect(size).toMatch(/^\d+$/);
    expect(row).toContain(` ${size} `);
  });

  test('history prints sizes and dates for people by default', async () => {
    const row = (await ok('history', '--format', '{{.CreatedSince}}|{{.Size}}', 'busybox')).stdout.trim();
    expect(row).toMatch(/ ago\|[\d.]+[kMG]?B$/);
  });

  test('history --format {{.CreatedAt}} is RFC 3339 whatever -H says', async () => {
    expect((await ok('history', '--format', '{{.CreatedAt}}', 'busybox')).stdout.trim()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
  });

  test("history --platform of the image's own platform is its history", async () => {
    expect((await ok('history', '-q', '--platform', HOST, 'busybox')).stdout).toBe((await ok('history', '-q', 'busybox')).stdout);
  });

  test("history --platform of another platform fails in dockerd's words", async () => {
    expect(await ctr.run('history', '--platform', OTHER, 'busybox')).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error response from daemon: image with reference busybox was found but does not match the specified platform: wanted ${OTHER}, actual: ${HOST}\n`,
    });
  });

  test('a malformed --platform is a usage error (exit 125) for every command that takes one', async () => {
    for (const args of [['history', 'busybox'], ['save', '-o', join(work, 'never.tar'), 'busybox'], ['load', '-i', join(work, 'never.tar')], ['pull', 'busybox'], ['import', work]]) {
      const result = await ctr.run(args[0] as string, '--platform', 'linux/arm/v7/extra', ...args.slice(1));
      expect(result.code).toBe(125);
      expect(result.stderr).toContain('invalid argument "linux/arm/v7/extra" for "--platform" flag: invalid platform');
    }
  });

  test('save --platform of another platform fails and writes no archive', async () => {
    const archive = join(work, `${mode}-other.tar`);
    const saved = await ctr.run('save', '--platform', OTHER, '-o', archive, 'busybox');
    expect(saved.code).toBe(1);
    expect(saved.stderr).toContain('does not match the specified platform');
    expect(existsSync(archive)).toBe(false);
  });

  test("save and load --platform of the image's own platform round-trip it", async () => {
    const archive = join(work, `${mode}-own.tar`);
    await ok('tag', 'busybox', 'platform-saved:1');
    await ok('save', '--platform', HOST, '-o', archive, 'platform-saved:1');
    await ok('rmi', 'platform-saved:1');
    expect(await ctr.run('load', '--platform', HOST, '-i', archive)).toEqual({ code: 0, stdout: 'Loaded image: platform-saved:1\n', stderr: '' });
  });

  test("load --platform of a platform the archive lacks fails in dockerd's words, naming nothing", async () => {
    const archive = join(work, `${mode}-lacking.tar`);
    await ok('tag', 'busybox', 'platform-lacking:1');
    await ok('save', '-o', archive, 'platform-lacking:1');
    await ok('rmi', 'platform-lacking:1');
    expect(await ctr.run('load', '--platform', OTHER, '-i', archive)).toEqual({ code: 1, stdout: '', stderr: `no images providing the requested platform ${OTHER} found\n` });
    expect((await ctr.run('images', '-q', 'platform-lacking')).stdout).toBe('');
  });

  test("import --platform records the platform as the image's", async () => {
    const dir = await mkdtemp(join(work, 'rootfs-'));
    await ok('import', '--platform', 'linux/arm64', dir, 'platform-imported:arm64');
    expect((await ok('image', 'inspect', '--format', '{{.Os}}/{{.Architecture}}', 'platform-imported:arm64')).stdout).toBe('linux/arm64\n');
  });

  test('rmi --no-prune removes the image as rmi does', async () => {
    await smallImage('no-prune:1');
    const removed = await ctr.run('rmi', '--no-prune', 'no-prune:1');
    expect(removed).toMatchObject({ code: 0, stderr: '' });
    // The image, then its one layer (nothing else uses it), as dockerd's layer store releases it.
    expect(lines(removed.stdout)).toEqual(['Untagged: no-prune:1', 'Deleted: sha256:DIGEST', 'Deleted: sha256:DIGEST']);
  });
});

describe("help as docker's", () => {
  const help = (name: string): string => commandHelp(`ctr ${name}`, imageCommands.find((c) => c.name === name)!);

  test('pull and push list -a, --all-tags', () => {
    expect(help('pull')).toMatch(/\n {2}-a, --all-tags +Download all tagged images in the repository\n/);
    expect(help('push')).toMatch(/\n {2}-a, --all-tags +Push all tags of an image to the repository\n/);
  });

  test('rmi lists --no-prune', () => {
    expect(help('rmi')).toMatch(/\n {6}--no-prune +Do not delete untagged parents\n/);
  });

  test('history lists -H, --human, on by default, and --platform', () => {
    expect(help('history')).toMatch(/\n {2}-H, --human +Print sizes and dates in human readable format \(default true\)\n/);
    expect(help('history')).toContain('Show history for the given platform. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")');
  });

  test('save, load and import list --platform', () => {
    expect(help('save')).toContain('--platform string   Save only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")');
    expect(help('load')).toContain('--platform string   Load only the given platform variant.');
    expect(help('import')).toContain('--platform string   Set platform if server is multi-platform capable');
  });
});
