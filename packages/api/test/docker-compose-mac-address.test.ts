/**
 * docker-compose 1.29 on a user network, as against dockerd. Before each start it inspects the
 * container and disconnects and reconnects any endpoint whose aliases lack the container's short
 * ID; the reconnect carries no `mac_address:`. dockerd lists the short ID (and hostname) among
 * the aliases for clients of API < 1.45 only. This compose asks ctrd's (and dockerd's) newest
 * version unless COMPOSE_API_VERSION names one, so the MAC survives at an older version, as here
 * (1.41, docker-py's default), and is lost at a newer one with ctrd as with dockerd 26 and later.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reserveTestBlock } from '../../../test/support/test-subnets';
import { docker, dockerCompose, json, request, useTestDaemon, type Run } from './fixture';

const t = useTestDaemon();
const block = reserveTestBlock();
const MAC = '02:42:ac:11:00:99';
const NET = 'ctrmac_usernet';
let project: string;

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'ctr-api-compose-mac-'));
  await writeFile(
    join(project, 'docker-compose.yml'),
    [
      'version: "3"',
      'services:',
      '  mac:',
      '    image: busybox',
      '    command: ["sleep", "300"]',
      `    mac_address: "${MAC}"`,
      '    networks: [usernet]',
      '  aliased:',
      '    image: busybox',
      '    command: ["sleep", "300"]',
      '    hostname: aliased-host',
      '    networks:',
      '      usernet:',
      '        aliases: [other-name]',
      'networks:',
      '  usernet:',
      '    ipam:',
      '      config:',
      `        - subnet: ${block.subnet(0)}`,
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await compose(['down', '-t', '0']).catch(() => undefined);
  if (project) await rm(project, { recursive: true, force: true });
  block.release();
});
function compose(args: string[]): Promise<Run> {
  return dockerCompose({ ...t.env, COMPOSE_API_VERSION: '1.41' }, project, 'ctrmac', args);
}

const seconds = (): string => String(Date.now() / 1000);
const later = (): string => String(Math.ceil(Date.now() / 1000) + 1);

/** The network connects and disconnects since `since`. */
async function networkEvents(since: string): Promise<string[]> {
  const filters = ['--filter', 'type=network', '--filter', 'event=connect', '--filter', 'event=disconnect'];
  const events = await docker(t.env, ['events', '--since', since, '--until', later(), ...filters, '--format', '{{.Action}}']);
  return events.stdout.split('\n').filter(Boolean);
}

function ids(): Promise<string> {
  return docker(t.env, ['ps', '-q', '--no-trunc']).then((r) => r.stdout.split('\n').filter(Boolean).sort().join(' '));
}

test('up -d keeps mac_address: no disconnect and reconnect, the MAC on eth0 inside and in inspect', async () => {
  const since = seconds();
  const up = await compose(['up', '-d']);
  expect(up.stderr).toMatch(/Creating ctrmac_mac_1 +\.\.\. done/);
  expect(up.code).toBe(0);

  // The create's endpoint is the one the container runs with: each joined its network once, at its start.
  expect((await networkEvents(since)).sort()).toEqual(['connect', 'connect']);
  const inspect = await docker(t.env, ['inspect', '-f', `{{(index .NetworkSettings.Networks "${NET}").MacAddress}}`, 'ctrmac_mac_1']);
  expect(inspect.stdout.trim()).toBe(MAC);
  const link = await docker(t.env, ['exec', 'ctrmac_mac_1', 'ip', 'link', 'show', 'eth0']);
  expect(link.stdout).toContain(`link/ether ${MAC}`);

  // What compose read at its version: the short ID (and hostname) after the aliases the create gave.
  const id = (await docker(t.env, ['inspect', '-f', '{{.Id}}', 'ctrmac_aliased_1'])).stdout.trim();
  const old = json(await request(t.socket, 'GET', '/v1.41/containers/ctrmac_aliased_1/json')) as { NetworkSettings: { Networks: Record<string, { Aliases: string[] }> } };
  expect(old.NetworkSettings.Networks[NET]?.Aliases).toEqual([...(await createAliases('ctrmac_aliased_1')), id.slice(0, 12), 'aliased-host']);
}, 120_000);

/** The aliases a container's endpoint has, as a current client sees them: the create's. */
async function createAliases(name: string): Promise<string[]> {
  return JSON.parse((await docker(t.env, ['inspect', '-f', `{{json (index .NetworkSettings.Networks "${NET}").Aliases}}`, name])).stdout) as string[];
}

test('the create\'s aliases are the endpoint\'s, in the embedded DNS too', async () => {
  expect((await createAliases('ctrmac_aliased_1')).sort()).toEqual(['aliased', 'other-name']);
  const aliased = (await docker(t.env, ['inspect', '-f', `{{(index .NetworkSettings.Networks "${NET}").IPAddress}}`, 'ctrmac_aliased_1'])).stdout.trim();
  for (const name of ['other-name', 'aliased', 'aliased-host']) {
    const lookup = await docker(t.env, ['exec', 'ctrmac_mac_1', 'nslookup', name, '127.0.0.11']);
    expect(lookup.stdout).toContain(`Address: ${aliased}`);
  }
}, 60_000);

test('a second up -d finds both up to date: nothing recreated, disconnected or reconnected', async () => {
  const before = await ids();
  const since = seconds();
  const again = await compose(['up', '-d']);
  expect(again.code).toBe(0);
  expect(again.stderr).toMatch(/ctrmac_mac_1 is up-to-date/);
  expect(again.stderr).toMatch(/ctrmac_aliased_1 is up-to-date/);
  expect(await ids()).toBe(before);
  expect(await networkEvents(since)).toEqual([]);
  expect((await docker(t.env, ['exec', 'ctrmac_mac_1', 'cat', '/sys/class/net/eth0/address'])).stdout.trim()).toBe(MAC);
}, 120_000);
