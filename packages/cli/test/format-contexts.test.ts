/**
 * What a list command's `--format` sees and prints, as docker CLI 28's formatter does it:
 * each item is a formatter context (strings, `.Label "key"`, a Go type its errors name),
 * `json` marshals it as a map with sorted keys, a `table` runs its template on the column
 * names for the header and aligns rows with docker's tabwriter. The expected outputs here are
 * what the docker CLI 28 printed for the same data (driven against ctrd).
 */
import type { ContainerSummary, ImageSummary } from '@ctr/engine';
import { isCtrError } from '@ctr/errors';
import { containerContext, containerFormat } from '../src/commands/containers';
import { imageContext, imageFormat, imageRows } from '../src/commands/images';
import { volumeContext, volumeFormat } from '../src/commands/volumes';
import { errorLine } from '../src/errors';
import { checkTemplate, commandColumn, ellipsis, formatContext, formatList, goTimeString, goUnixTime, labelMethod, naturalCompare, renderTable, tabwrite } from '../src/format';

/** The error `run` throws. */
function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('it did not fail');
}

const container: ContainerSummary = {
  Id: '840185ff68cbfe523f06b681a6975c149a8aaf881b58fc752b02130958a41481',
  Names: ['/c1'],
  Image: 'busybox',
  ImageID: 'sha256:f231cf9f907aa4def40f1da2b5119bf97736850cf9edc1e5c5d78d6a9c89e07a',
  Command: 'sleep 1000',
  Created: 1795398316,
  Ports: [],
  Labels: { z: '1', a: 'b' },
  State: 'running',
  Status: 'Up 2 seconds',
  HostConfig: { NetworkMode: 'none' },
  NetworkSettings: { Networks: {} },
  Mounts: [
    { Type: 'volume', Name: 'v1', Source: '/var/lib/ctr/volumes/v1/_data', Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' },
    { Type: 'bind', Source: '/srv/a-long-host-directory', Destination: '/bb', Mode: '', RW: false, Propagation: 'rprivate' },
  ],
};

const image: ImageSummary = {
  Id: 'sha256:f231cf9f907aa4def40f1da2b5119bf97736850cf9edc1e5c5d78d6a9c89e07a',
  ParentId: '',
  RepoTags: ['busybox:latest', 'busybox:v2', 'other/bb:1'],
  RepoDigests: ['busybox@sha256:1111111111111111111111111111111111111111111111111111111111111111'],
  Created: 1795398310,
  Size: 1_984_123,
  SharedSize: -1,
  VirtualSize: 1_984_123,
  Labels: {},
  Containers: 2,
};

describe("docker's tabwriter", () => {
  test('a cell that ends at a tab is padded to its column, even with nothing after it', () => {
    expect(tabwrite('a\tb\t\nccc\t\n')).toBe('a         b         \nccc       \n');
  });

  test('a column is as wide as its widest cell plus three, in each block of lines that have it', () => {
    expect(tabwrite('aaaa\tbbb\td\naa\tb\tdd\na\t\naa\tcccc\teee\n', 0)).toBe('aaaa   bbb   d\naa     b     dd\na      \naa     cccc   eee\n');
  });

  test('a wide character takes two columns', () => {
    expect(tabwrite('日本\tx\nab\ty\n')).toBe('日本      x\nab        y\n');
  });

  test("docker top's table has columns of at least 20", () => {
    expect(renderTable([['PID', 'CMD'], ['1', 'sleep']], 20)).toBe('PID                 CMD\n1                   sleep');
  });
});

describe('formatList', () => {
  const item = formatContext('*formatter.testContext', { Name: 'web', Tag: '<none>', Label: labelMethod({ 'com.example.role': 'db' }) });

  test('json marshals a context as docker does: a map of its fields, keys sorted, HTML escaped, methods with arguments left out', () => {
    expect(formatList('json', [item], {})).toBe('{"Name":"web","Tag":"\\u003cnone\\u003e"}\n');
  });

  test('{{json .}} is the same as --format json', () => {
    expect(formatList('{{json .}}', [item], {})).toBe(formatList('json', [item], {}));
  });

  test('.Label "key" gives the value of that label, and "" for a label the item does not have', () => {
    expect(formatList('{{.Label "com.example.role"}}|{{.Label "nope"}}', [item], {})).toBe('db|\n');
  });

  test('.Label takes exactly one string, as the Go method does', () => {
    expect(thrown(() => formatList('{{.Label}}', [item], {})).message).toBe('template parsing error: template: :1:2: executing "" at <.Label>: wrong number of args for Label: want 1 got 0');
    expect(thrown(() => formatList('{{.Label 1}}', [item], {})).message).toBe('template parsing error: template: :1:9: executing "" at <1>: expected string; found 1');
  });

  test("a field the context lacks is an error naming the context's Go type", () => {
    expect(thrown(() => formatList('{{.Foo}}', [item], {})).message).toBe('template parsing error: template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.testContext');
  });

  test('a field of a string field is an error placed at that field', () => {
    expect(thrown(() => formatList('{{.Name.a}}', [item], {})).message).toBe('template parsing error: template: :1:7: executing "" at <.Name.a>: can\'t evaluate field a in type string');
  });

  test("a template error is docker's own words, printed without `Error:`, exit status 1", () => {
    const error = thrown(() => formatList('{{.Name', [], {}));
    expect(error.message).toBe('template parsing error: template: :1: unclosed action');
    expect(errorLine(error)).toBe('template parsing error: template: :1: unclosed action');
  });

  test("a table's header is its template run on the column names, text functions leaving each name as it is, a label's the last part of its key", () => {
    const out = formatList('table {{lower .Name}}\t{{.Tag | printf "%.2s"}}\t{{.Label "com.example.role"}}', [item], { Name: 'NAME', Tag: 'TAG' });
    expect(out).toBe('NAME      TA        role\nweb       <n        db\n');
  });

  test('a field without a column name heads its column <no value>', () => {
    expect(formatList('table {{.Name}}\t{{.Other}}', [], { Name: 'NAME' })).toBe('NAME      <no value>\n');
  });

  test('a header that fails shows what it printed before: docker ignores the error', () => {
    expect(formatList('table {{.Name}}|{{range .Name}}x{{end}}|after', [], { Name: 'NAME' })).toBe('NAME|\n');
  });

  test('no items print nothing, and a table only its header', () => {
    expect(formatList('{{.Name}}', [], {})).toBe('');
    expect(formatList('table {{.Name}}', [], { Name: 'NAME' })).toBe('NAME\n');
  });

  test('each item ends with a newline, one that prints nothing too', () => {
    expect(formatList('{{.Label "nope"}}', [item, item], {})).toBe('\n\n');
  });
});

describe('checkTemplate: a template checked before anything is listed', () => {
  const empty = formatContext('*formatter.ContainerContext', { Names: '', Mounts: '' });

  test("docker ps's words for a template that does not parse", () => {
    expect(thrown(() => checkTemplate('{{.Names', empty, { parse: 'failed to parse template: ', run: 'failed to execute template: ' })).message).toBe('failed to parse template: template: :1: unclosed action');
  });

  test('the template is run on an item with nothing set, as written: `table` and a written-out tab count in its positions', () => {
    const error = thrown(() => checkTemplate('table {{.Names}}\\t{{range .Mounts}}x{{end}}', empty, { parse: 'failed to parse template: ', run: 'failed to execute template: ' }));
    expect(error.message).toBe('failed to execute template: template: :1:26: executing "" at <.Mounts>: range can\'t iterate over ');
  });

  test("docker events' words and exit status 64", () => {
    const error = thrown(() => checkTemplate('{{.Foo}}', empty, { parse: 'Error parsing format: ', run: 'Error parsing format: ', exitCode: 64 }));
    expect(error.message).toBe('Error parsing format: template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.ContainerContext');
    expect(isCtrError(error) && error.details.exitCode).toBe(64);
  });
});

describe('define, template and block', () => {
  const render = (format: string): string => formatList(format, [formatContext('*formatter.testContext', { Name: 'web' })], {});

  test('a defined template runs where {{template}} calls it, on the value given', () => {
    expect(render('{{define "x"}}[{{.}}]{{end}}{{template "x" .Name}}')).toBe('[web]\n');
  });

  test('{{block}} defines a template and runs it there', () => {
    expect(render('{{block "b" .Name}}<{{.}}>{{end}}')).toBe('<web>\n');
  });

  test('a template called with no value has none', () => {
    expect(render('{{template "x"}}{{define "x"}}{{.}}{{end}}')).toBe('<no value>\n');
  });

  test('a template defined twice is an error', () => {
    expect(thrown(() => render('{{define "x"}}a{{end}}{{define "x"}}b{{end}}')).message).toBe('template parsing error: template: :1: template: multiple definition of template "x"');
  });

  test('an undefined template is an error where it is called', () => {
    expect(thrown(() => render('{{template "x"}}')).message).toBe('template parsing error: template: :1:11: executing "" at <{{template "x"}}>: template "x" not defined');
  });

  test('{{define}} only at the top of the text', () => {
    expect(thrown(() => render('{{if 1}}{{define "x"}}{{end}}{{end}}')).message).toBe('template parsing error: template: :1: unexpected <define> in command');
  });

  test('an error inside a defined template names it', () => {
    expect(thrown(() => render('{{define "x"}}{{.Foo}}{{end}}{{template "x" .}}')).message).toBe(
      'template parsing error: template: :1:16: executing "x" at <.Foo>: can\'t evaluate field Foo in type *formatter.testContext',
    );
  });

  test('a template calling itself without end stops at Go\'s depth', () => {
    expect(thrown(() => render('{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}')).message).toBe(
      'template parsing error: template: :1:25: executing "r" at <{{template "r" .}}>: exceeded maximum template depth (100000)',
    );
  });
});

describe('the container context (docker ps)', () => {
  test("json has docker 28's fields: a nil Platform, counts and lists as strings", () => {
    const json = JSON.parse(formatList('json', [containerContext(container, true)], {})) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Platform', 'Ports', 'RunningFor', 'Size', 'State', 'Status']);
    expect(json).toMatchObject({ Command: '"sleep 1000"', CreatedAt: goUnixTime(container.Created), ID: '840185ff68cb', Labels: 'a=b,z=1', LocalVolumes: '1', Platform: null, Size: '0B' });
  });

  test('mounts are named by volume or source, cut at 15 columns unless --no-trunc', () => {
    expect(formatList('{{.Mounts}}', [containerContext(container, true)], {})).toBe('v1,/srv/a-long-ho…\n');
    expect(formatList('{{.Mounts}}', [containerContext(container, false)], {})).toBe('v1,/srv/a-long-host-directory\n');
  });

  test('a nil value prints <nil>', () => {
    expect(formatList('{{.Platform}}', [containerContext(container, true)], {})).toBe('<nil>\n');
  });

  test('ports of one protocol and address in a row make a range; one published elsewhere comes last', () => {
    const ports: ContainerSummary['Ports'] = [
      { IP: '0.0.0.0', PrivatePort: 9001, PublicPort: 9001, Type: 'udp' },
      { IP: '127.0.0.1', PrivatePort: 80, PublicPort: 18080, Type: 'tcp' },
      { PrivatePort: 7000, Type: 'tcp' },
      { IP: '0.0.0.0', PrivatePort: 9000, PublicPort: 9000, Type: 'udp' },
      { IP: '0.0.0.0', PrivatePort: 9002, PublicPort: 9002, Type: 'udp' },
    ];
    expect(formatList('{{.Ports}}', [containerContext({ ...container, Ports: ports }, true)], {})).toBe('7000/tcp, 0.0.0.0:9000-9002->9000-9002/udp, 127.0.0.1:18080->80/tcp\n');
  });

  test('a port published on 0.0.0.0 and [::] is listed for each address, the IPv6 one in brackets', () => {
    const ports: ContainerSummary['Ports'] = [
      { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { IP: '::', PrivatePort: 53, PublicPort: 53, Type: 'udp' },
      { IP: '0.0.0.0', PrivatePort: 53, PublicPort: 53, Type: 'udp' },
    ];
    expect(formatList('{{.Ports}}', [containerContext({ ...container, Ports: ports }, true)], {})).toBe('0.0.0.0:53->53/udp, [::]:53->53/udp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp\n');
  });

  test('the image is named as users write it, its digest dropped, an image ID cut short', () => {
    const image = (name: string): string => formatList('{{.Image}}', [containerContext({ ...container, Image: name }, true)], {});
    expect(image('docker.io/library/busybox:1@sha256:1111111111111111111111111111111111111111111111111111111111111111')).toBe('busybox:1\n');
    expect(image(container.ImageID)).toBe('f231cf9f907a\n');
    expect(image('')).toBe('<no image>\n');
  });

  test('names cut short keep the first that is not a legacy link', () => {
    const names = { ...container, Names: ['/other/alias', '/c1'] };
    expect(formatList('{{.Names}}', [containerContext(names, true)], {})).toBe('c1\n');
    expect(formatList('{{.Names}}', [containerContext(names, false)], {})).toBe('other/alias,c1\n');
  });

  test('a command with quotes is quoted as Go quotes it', () => {
    expect(commandColumn('sh -c "echo hi"', false)).toBe('"sh -c \\"echo hi\\""');
  });

  test('a command with characters Go does not print is quoted with their escapes, as strconv.Quote writes them', () => {
    expect(commandColumn('echo a\u2028b\u00a0c\u200bd\u{e0001}', false)).toBe('"echo a\\u2028b\\u00a0c\\u200bd\\U000e0001"');
    expect(commandColumn('echo héllo 世界 ✓', false)).toBe('"echo héllo 世界 ✓"');
  });

  test("docker's raw format, with the size when sizes were asked for", () => {
    expect(containerFormat('raw', false, true)).toMatch(/^container_id: \{\{\.ID\}\}\nimage: .*\nports: \{\{- pad \.Ports 1 0\}\}\nsize: \{\{\.Size\}\}\n$/s);
    expect(containerFormat('{{.Names}}', true, false)).toBe('{{.ID}}');
  });
});

describe('the image context (docker images)', () => {
  test('one row per tag of each repository; digests only when shown', () => {
    expect(imageRows(image, false, false)).toEqual([
      { repo: 'busybox', tag: 'latest', digest: '<none>' },
      { repo: 'busybox', tag: 'v2', digest: '<none>' },
      { repo: 'other/bb', tag: '1', digest: '<none>' },
    ]);
    expect(imageRows(image, true, true)[0]).toEqual({ repo: 'busybox', tag: 'latest', digest: 'sha256:1111111111111111111111111111111111111111111111111111111111111111' });
  });

  test('a repository with only a digest has a row of its own, its digest shown only with --digests', () => {
    const pinned = { RepoTags: [], RepoDigests: image.RepoDigests };
    expect(imageRows(pinned, false, false)).toEqual([{ repo: 'busybox', tag: '<none>', digest: '' }]);
    expect(imageRows(pinned, true, true)).toEqual([{ repo: 'busybox', tag: '<none>', digest: 'sha256:1111111111111111111111111111111111111111111111111111111111111111' }]);
  });

  test('an image without names is one <none> row', () => {
    expect(imageRows({ RepoTags: [], RepoDigests: [] }, false, false)).toEqual([{ repo: '<none>', tag: '<none>', digest: '<none>' }]);
  });

  test("json has docker's fields: sizes not computed are N/A, VirtualSize with four digits", () => {
    const json = JSON.parse(formatList('json', [imageContext(image, { repo: 'busybox', tag: 'latest', digest: '<none>' }, true)], {})) as Record<string, unknown>;
    expect(json).toEqual({
      Containers: '2',
      CreatedAt: goUnixTime(image.Created),
      CreatedSince: expect.stringMatching(/ ago$/),
      Digest: '<none>',
      ID: 'f231cf9f907a',
      Repository: 'busybox',
      SharedSize: 'N/A',
      Size: '1.98MB',
      Tag: 'latest',
      UniqueSize: 'N/A',
      VirtualSize: '1.984MB',
    });
  });

  test('--digests adds the DIGEST column to a table of your own', () => {
    expect(imageFormat('table {{.ID}}', false, true)).toBe('table {{.ID}}\t{{.Digest}}');
    expect(imageFormat('table', true, true)).toBe('{{.ID}}');
  });
});

describe('the volume context (docker volume ls)', () => {
  const volume = { Name: 'v1', Driver: 'local' as const, Mountpoint: '/var/lib/ctr/volumes/v1/_data', CreatedAt: '', Labels: { a: 'b' }, Options: {}, Scope: 'local' as const };

  test("json has docker's fields; what only df or a cluster knows is N/A", () => {
    expect(formatList('json', [volumeContext(volume)], {})).toBe(
      '{"Availability":"N/A","Driver":"local","Group":"N/A","Labels":"a=b","Links":"N/A","Mountpoint":"/var/lib/ctr/volumes/v1/_data","Name":"v1","Scope":"local","Size":"N/A","Status":"N/A"}\n',
    );
  });

  test('with usage data, its links and size', () => {
    expect(formatList('{{.Links}} {{.Size}}', [volumeContext({ ...volume, UsageData: { RefCount: 1, Size: 12_345 } })], {})).toBe('1 12.35kB\n');
  });

  test('-q changes only the default and raw formats', () => {
    expect(volumeFormat('table', true)).toBe('{{.Name}}');
    expect(volumeFormat('{{.Driver}}', true)).toBe('{{.Driver}}');
  });
});

describe("docker's times, names and sorting", () => {
  // In any local zone: no zone is at +01:23, and Z is always UTC. Local zones: format-time-zones.test.ts.
  test('an RFC 3339 time keeps its fraction, trailing zeros dropped, and its zone', () => {
    expect(goTimeString('2026-11-23T01:45:16.259000000Z')).toBe('2026-11-23 01:45:16.259 +0000 UTC');
    expect(goTimeString('2026-11-23T01:45:16Z')).toBe('2026-11-23 01:45:16 +0000 UTC');
    expect(goTimeString('2026-11-23T02:45:16+01:23')).toBe('2026-11-23 02:45:16 +0123 +0123');
  });

  test('names sort naturally: numbers as numbers, the rest by bytes', () => {
    expect(['net10', 'net2', 'b', 'net1', 'Net', 'net02'].sort(naturalCompare)).toEqual(['Net', 'b', 'net1', 'net2', 'net02', 'net10']);
  });

  test('ellipsis cuts to the columns a terminal shows', () => {
    expect(ellipsis('abcdef', 4)).toBe('abc…');
    expect(ellipsis('日本語です', 5)).toBe('日本…');
    expect(ellipsis('abc', 3)).toBe('abc');
  });
});
