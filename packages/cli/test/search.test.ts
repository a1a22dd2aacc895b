/**
 * `ctr search [--filter] [--format] [--limit] [--no-trunc] TERM`: docker 28's `docker search`,
 * in-process (no daemon) and through ctrd (`-H`). Every term names a 127.0.0.1 registry:
 * ctr's registry server, or a stub index holding Docker Hub-like results (descriptions,
 * stars, official images); a bare term would go to Docker Hub.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HUB_LIKE_RESULTS, pushRepositories, startStubIndex, type StubIndex } from '../../registry/test/support/search-index';
import { startRegistry, type RunningRegistry } from '../../registry/test/support/servers';
import { cleanEnv, ctr, startTestDaemon, type Result, type TestDaemon } from './remote-fixture';

let work: string;
let registry: RunningRegistry;
let index: StubIndex;
let daemon: TestDaemon;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-cli-search-'));
  registry = await startRegistry();
  await pushRepositories(registry.host, ['library/busybox', 'team/busy-tools', 'alpine']);
  index = await startStubIndex(HUB_LIKE_RESULTS);
  daemon = await startTestDaemon();
});

afterAll(async () => {
  await registry?.stop();
  await index?.stop();
  await daemon?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

/** `ctr search …` in-process, on a throwaway root, reading an empty docker config. */
function search(...args: string[]): Promise<Result> {
  const env = cleanEnv({ DOCKER_CONFIG: join(work, 'docker-config'), CTR_CONFIG: join(work, 'ctr-config') });
  return ctr(['--root', join(work, 'root'), '--runroot', join(work, 'run'), 'search', ...args], { env });
}

test("lists the registry's matching repositories in docker 28's table: NAME DESCRIPTION STARS OFFICIAL", async () => {
  const found = await search(`${registry.host}/busy`);
  expect(found.stderr).toBe('');
  expect(found.code).toBe(0);
  expect(found.stdout.split('\n')).toEqual([
    'NAME              DESCRIPTION   STARS     OFFICIAL',
    'library/busybox                 0         ',
    'team/busy-tools                 0         ',
    '',
  ]);
});

test('through ctrd (-H) the table is the same', async () => {
  const env = cleanEnv({ DOCKER_CONFIG: join(work, 'docker-config'), CTR_CONFIG: join(work, 'ctr-config') });
  const remote = await ctr(['-H', `unix://${daemon.socket}`, 'search', `${registry.host}/busy`], { env });
  const local = await search(`${registry.host}/busy`);
  expect(remote.stderr).toBe('');
  expect(remote.stdout).toBe(local.stdout);
});

test('official images are [OK]; descriptions are one line, cut to 45 columns unless --no-trunc', async () => {
  const cut = await search(`${index.host}/busy`);
  expect(cut.stdout.split('\n')).toEqual([
    'NAME                    DESCRIPTION                                     STARS     OFFICIAL',
    'busybox                 Busybox base image.                             3300      [OK]',
    'radial/busyboxplus      Full-chain, Internet enabled, busybox made f…   56        ',
    'yauritux/busybox-curl   Busybox with CURL and nothing else              24        ',
    'odise/busybox-python                                                    2         ',
    '',
  ]);
  const whole = await search('--no-trunc', '--format', '{{.Description}}', `${index.host}/busy`);
  expect(whole.stdout.split('\n')[1]).toBe('Full-chain, Internet enabled, busybox made from scratch. Comes in git and cURL flavors.');
});

test('--format reads .Name .Description .StarCount .IsOfficial; {{json .}} is docker\'s JSON of them', async () => {
  const fields = await search('--format', '{{.Name}} {{.StarCount}} {{.IsOfficial}}', '--limit', '2', `${index.host}/busy`);
  expect(fields.stdout).toBe('busybox 3300 [OK]\nradial/busyboxplus 56 \n');
  const asJson = await search('--format', '{{json .}}', '--limit', '1', `${index.host}/busy`);
  expect(asJson.stdout).toBe('{"Description":"Busybox base image.","IsOfficial":"true","Name":"busybox","StarCount":"3300"}\n');
});

test("--format .IsAutomated fails as docker 28's does (its search context has no such field)", async () => {
  const failed = await search('--format', '{{.IsAutomated}}', `${index.host}/busy`);
  expect(failed.code).not.toBe(0);
  expect(failed.stderr).toContain('can\'t evaluate field IsAutomated in type *registry.searchContext');
});

test('--filter stars and is-official select what the index answered', async () => {
  expect((await search('--format', '{{.Name}}', '--filter', 'stars=20', '--filter', 'is-official=false', `${index.host}/busy`)).stdout).toBe('radial/busyboxplus\nyauritux/busybox-curl\n');
});

test('--filter is-automated warns that it is deprecated; =true finds nothing', async () => {
  const found = await search('--format', '{{.Name}}', '--filter', 'is-automated=true', `${index.host}/busy`);
  expect(found.stderr).toBe('WARNING: the "is-automated" filter is deprecated, and searching for "is-automated=true" will not yield any results in future.\n');
  expect(found.stdout).toBe('');
  expect(found.code).toBe(0);
});

test("--limit out of [1, 100] is the daemon's refusal; one that is not an integer is a usage error", async () => {
  const far = await search('--limit', '101', `${index.host}/busy`);
  expect(far.stderr).toBe('Error response from daemon: limit 101 is outside the range of [1, 100]\n');
  expect(far.code).toBe(1);
  const fraction = await search('--limit', '2.5', `${index.host}/busy`);
  expect(fraction.stderr.split('\n')[0]).toBe('invalid argument "2.5" for "--limit" flag: strconv.ParseInt: parsing "2.5": invalid syntax');
  expect(fraction.code).toBe(125);
});

test('takes exactly one term', async () => {
  const none = await search();
  expect(none.stderr.split('\n')[0]).toBe("ctr: 'ctr search' requires 1 argument");
  expect(none.code).toBe(1);
});

test("--help shows docker's usage and flags", async () => {
  const help = await search('--help');
  expect(help.stdout).toContain('Usage:  ctr search [OPTIONS] TERM\n\nSearch Docker Hub for images\n');
  for (const flag of ['-f, --filter filter', '--format string', '--limit int', '--no-trunc']) expect(help.stdout).toContain(flag);
});
