/**
 * The list commands' `--format` through the built `ctr`, as docker CLI 28 prints the same:
 * `json` gives docker's fields of each item, a `table` docker's column names, and a bad
 * template docker's words and exit status.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { goAnsicTime } from '../src/format';
import { localCtr, type LocalCtr } from './local-ctr';

let ctr: LocalCtr;

/** The keys of each JSON line `ctr args…` prints. */
async function jsonKeys(...args: string[]): Promise<string[][]> {
  const result = await ctr.run(...args);
  if (result.code !== 0) throw new Error(`ctr ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => Object.keys(JSON.parse(line) as object));
}

beforeAll(async () => {
  ctr = await localCtr('format-contexts');
  for (const args of [
    ['volume', 'create', '--label', 'role=data', 'fv'],
    ['network', 'create', '--label', 'n=1', 'fnet'],
    ['create', '--name', 'fc', '--label', 'a=b', '-v', 'fv:/data', '--network', 'none', 'busybox', 'true'],
  ]) {
    const result = await ctr.run(...args);
    if (result.code !== 0) throw new Error(`ctr ${args.join(' ')} failed: ${result.stderr}`);
  }
}, 60_000);
afterAll(async () => {
  await ctr?.run('rm', '-f', 'fc');
  await ctr?.run('network', 'rm', 'fnet');
  await ctr?.cleanup();
});

describe('ps', () => {
  test("--format json gives docker 28's fields", async () => {
    expect(await jsonKeys('ps', '-a', '--format', 'json')).toEqual([
      ['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Platform', 'Ports', 'RunningFor', 'Size', 'State', 'Status'],
    ]);
  });

  test('.Label "key" and .LocalVolumes read as docker reads them', async () => {
    expect(await ctr.run('ps', '-a', '--format', '{{.Label "a"}} {{.LocalVolumes}} {{.Mounts}}')).toEqual({ code: 0, stdout: 'b 1 fv\n', stderr: '' });
  });

  test("a table's columns are headed with docker's names", async () => {
    const result = await ctr.run('ps', '-a', '--format', 'table {{.ID}}\\t{{.CreatedAt}}\\t{{.RunningFor}}\\t{{.LocalVolumes}}\\t{{.Label "com.example.my-label"}}');
    expect(result.stdout.split('\n')[0]).toMatch(/^CONTAINER ID +CREATED AT +CREATED +LOCAL VOLUMES +my label$/);
  });

  test("a template that does not parse: docker ps's words, no more, exit status 1", async () => {
    expect(await ctr.run('ps', '--format', '{{.ID')).toEqual({ code: 1, stdout: '', stderr: 'failed to parse template: template: :1: unclosed action\n' });
  });

  test('a template reading a field containers lack fails before anything is listed', async () => {
    expect(await ctr.run('ps', '-a', '--format', '{{.Foo}}')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'failed to execute template: template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.ContainerContext\n',
    });
  });

  test('-q with a --format warns and prints the IDs', async () => {
    const result = await ctr.run('ps', '-a', '-q', '--format', '{{.Names}}');
    expect(result).toMatchObject({ code: 0, stderr: 'WARNING: Ignoring custom format, because both --format and --quiet are set.\n' });
    expect(result.stdout).toMatch(/^[0-9a-f]{12}\n$/);
  });

  test('a template that reads .Size asks for sizes; --format json does not', async () => {
    expect((await ctr.run('ps', '-a', '--format', '{{.Size}}')).stdout).toMatch(/^\S+ \(virtual \S+\)\n$/);
    expect(JSON.parse((await ctr.run('ps', '-a', '--format', 'json')).stdout)).toMatchObject({ Size: '0B' });
  });
});

describe('images', () => {
  test("--format json gives docker's fields, CreatedAt as Go prints a time", async () => {
    expect(await jsonKeys('images', '--format', 'json')).toEqual([['Containers', 'CreatedAt', 'CreatedSince', 'Digest', 'ID', 'Repository', 'SharedSize', 'Size', 'Tag', 'UniqueSize', 'VirtualSize']]);
    expect((await ctr.run('images', '--format', '{{.CreatedAt}}')).stdout).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \S+\n$/);
  });

  test("a bad template: docker's `template parsing error`, exit status 1", async () => {
    expect(await ctr.run('images', '--format', '{{.Foo}}')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'template parsing error: template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.imageContext\n',
    });
  });
});

describe('volume ls, network ls, history', () => {
  test("volume ls --format json gives docker's fields", async () => {
    expect(await jsonKeys('volume', 'ls', '--format', 'json')).toEqual([['Availability', 'Driver', 'Group', 'Labels', 'Links', 'Mountpoint', 'Name', 'Scope', 'Size', 'Status']]);
  });

  test('volume ls -q leaves a --format of your own alone', async () => {
    expect(await ctr.run('volume', 'ls', '-q', '--format', '{{.Driver}} {{.Label "role"}}')).toEqual({ code: 0, stdout: 'local data\n', stderr: '' });
  });

  test("network ls --format json gives docker's fields, the networks sorted by name", async () => {
    expect((await jsonKeys('network', 'ls', '--format', 'json'))[0]).toEqual(['CreatedAt', 'Driver', 'ID', 'IPv4', 'IPv6', 'Internal', 'Labels', 'Name', 'Scope']);
    const names = (await ctr.run('network', 'ls', '--format', '{{.Name}}')).stdout.split('\n').filter(Boolean);
    expect(names).toEqual([...names].sort());
    expect(names).toContain('fnet');
  });

  test("history --format json gives docker's fields", async () => {
    expect(await jsonKeys('history', '--format', 'json', 'busybox')).toEqual([['Comment', 'CreatedAt', 'CreatedBy', 'CreatedSince', 'ID', 'Size']]);
  });
});

describe('system df', () => {
  test('--format json gives each row with its counts as strings', async () => {
    const rows = (await ctr.run('system', 'df', '--format', 'json')).stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, string>);
    expect(rows.map((row) => row.Type)).toEqual(['Images', 'Containers', 'Local Volumes', 'Build Cache']);
    expect(rows[1]).toEqual({ Active: '0', Reclaimable: expect.any(String), Size: expect.any(String), TotalCount: '1', Type: 'Containers' });
  });

  test('-v prints a table of each kind under its title', async () => {
    const result = await ctr.run('system', 'df', '-v');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Images space usage:\n\nREPOSITORY +TAG +IMAGE ID +CREATED +SIZE +SHARED SIZE +UNIQUE SIZE +CONTAINERS\n/);
    expect(result.stdout).toMatch(/\nLocal Volumes space usage:\n\nVOLUME NAME +LINKS +SIZE\nfv +1 +\S+\n/);
    expect(result.stdout).toMatch(/\nBuild cache usage: \S+\n\nCACHE ID +CACHE TYPE +SIZE +CREATED +LAST USED +USAGE +SHARED\n$/);
  });

  test('-v --format json is one document, with no newline after it', async () => {
    const result = await ctr.run('system', 'df', '-v', '--format', 'json');
    expect(Object.keys(JSON.parse(result.stdout) as object)).toEqual(['Images', 'Containers', 'Volumes', 'BuildCache']);
    expect(result.stdout.endsWith('}')).toBe(true);
  });
});

describe('events and port', () => {
  test("events --format json gives docker's message, with the legacy fields of a container's event", async () => {
    const result = await ctr.run('events', '--since', '0', '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'event=create', '--filter', 'container=fc', '--format', 'json');
    expect(Object.keys(JSON.parse(result.stdout) as object)).toEqual(['status', 'id', 'from', 'Type', 'Action', 'Actor', 'scope', 'time', 'timeNano']);
  });

  test('events takes its template as written: a written-out \\t stays so', async () => {
    const result = await ctr.run('events', '--since', '0', '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'event=create', '--filter', 'container=fc', '--format', '{{.Type}}\\t{{.Action}}');
    expect(result.stdout).toBe('container\\tcreate\n');
  });

  test("a bad events template: docker's words, exit status 64", async () => {
    expect(await ctr.run('events', '--format', '{{.Foo}}')).toEqual({
      code: 64,
      stdout: '',
      stderr: 'Error parsing format: template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *events.Message\n',
    });
  });

  test('port names the port as it was asked for', async () => {
    expect(await ctr.run('port', 'fc', '80')).toEqual({ code: 1, stdout: '', stderr: "Error: No public port '80' published for fc\n" });
  });
});

describe("version's Go structs, as docker's %v prints them", () => {
  /** What the build under test recorded of itself (`npm run build`), the time as docker's CLI prints it. */
  const build = JSON.parse(readFileSync(join(__dirname, '..', '..', 'engine', 'dist', 'build-info.json'), 'utf8')) as { GitCommit: string; BuildTime: string };
  const built = goAnsicTime(build.BuildTime);

  test('{{.Client}} is clientVersion in its order: no platform, nothing ctr does not know (default API)', async () => {
    expect(await ctr.run('version', '--format', '{{.Client}}')).toEqual({ code: 0, stdout: `{<nil> 0.1.0 1.47  ${build.GitCommit} node${process.versions.node} linux amd64 ${built} default}\n`, stderr: '' });
  });

  test('{{printf "%+v" .Client}} names its fields', async () => {
    expect((await ctr.run('version', '--format', '{{printf "%+v" .Client}}')).stdout).toBe(
      `{Platform:<nil> Version:0.1.0 APIVersion:1.47 DefaultAPIVersion: GitCommit:${build.GitCommit} GoVersion:node${process.versions.node} Os:linux Arch:amd64 BuildTime:${built} Context:default}\n`,
    );
  });

  test('{{.}} is versionInfo: the client, then the server by pointer, printed as its address', async () => {
    expect((await ctr.run('version', '--format', '{{.}}')).stdout).toMatch(/^\{\{<nil> 0\.1\.0 .* default\} 0xc[0-9a-f]{9}\}\n$/);
  });

  test('{{.Server}} is types.Version in its order; printf, given the pointer, prints &{…}', async () => {
    const server = (await ctr.run('version', '--format', '{{.Server}}')).stdout;
    expect(server).toMatch(new RegExp(`^\\{\\{ctr\\} \\[\\{Engine .*\\}\\] 0\\.1\\.0 1\\.47 1\\.24 \\w* node${process.versions.node.replace(/\./g, '\\.')} linux amd64 \\S+ false \\S*\\}\\n$`));
    expect((await ctr.run('version', '--format', '{{printf "%v" .Server}}')).stdout).toBe(`&${server}`);
  });

  test('json leaves out the empty fields docker tags omitempty, and keeps the server\'s Platform, a struct', async () => {
    const { Client, Server } = JSON.parse((await ctr.run('version', '--format', 'json')).stdout) as { Client: object; Server: object };
    expect(Object.keys(Client)).toEqual(['Version', 'ApiVersion', 'GitCommit', 'GoVersion', 'Os', 'Arch', 'BuildTime', 'Context']);
    expect(Object.keys(Server)).toEqual(['Platform', 'Components', 'Version', 'ApiVersion', 'MinAPIVersion', 'GitCommit', 'GoVersion', 'Os', 'Arch', 'KernelVersion', 'BuildTime']);
  });
});

describe("the lists' {{.}} through the built ctr", () => {
  test("ps prints docker's ContainerContext, the container's Summary inside", async () => {
    expect((await ctr.run('ps', '-a', '--format', '{{.}}')).stdout).toMatch(/^\{\{<nil>\} true \{[0-9a-f]{64} \[\/fc\] busybox sha256:[0-9a-f]{64} <nil> true \d+ \[\] 0 0 map\[a:b\] created Created \{none map\[\]\} 0xc[0-9a-f]{9} \[\{volume fv \S+ \/data local z true \}\]\} map\[\]\}\n$/);
  });
});
