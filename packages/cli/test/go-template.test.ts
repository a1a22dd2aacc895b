/**
 * `--format` templates are Go's text/template with docker's functions: what docker users
 * write (`range`, `if`, `with`, pipes, `printf`, `index`, variables…) prints what docker prints,
 * and a template that cannot parse or run fails with Go's words, starting `template:`.
 */
import { isCtrError } from '@ctr/errors';
import { commandColumn, formatItems, renderTemplate } from '../src/format';

const container = {
  Name: '/web',
  State: { Status: 'running', Running: true, Health: null, ExitCode: 0 },
  Config: { Labels: { zeta: '1', alpha: '2' }, Cmd: ['sh', '-c', 'top'], Env: [] as string[], Volumes: { '/data': {} } },
  HostConfig: { LogConfig: { Type: 'json-file', Config: {} } },
  Mounts: [{ Destination: '/data' }, { Destination: '/logs' }],
  NetworkSettings: { Networks: { web: { IPAddress: '10.0.0.2' }, bridge: { IPAddress: '172.17.0.2' } } },
  IPAM: { Config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] },
  RepoTags: ['busybox:latest', 'busybox:1'],
  Size: 4_261_234,
};

const render = (template: string): string => renderTemplate(template, container);

/** The message of what `run` throws. */
function failure(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('it did not fail');
}

describe('syntax', () => {
  test('text outside actions is printed as it is', () => {
    expect(render('name: {{.Name}}!')).toBe('name: /web!');
  });

  test('{{- trims the whitespace before an action and -}} the whitespace after it', () => {
    expect(render('a \n {{- .Name -}} \n b')).toBe('a/webb');
  });

  test('a minus with no space after {{ is a negative number, not a trim marker', () => {
    expect(render('a {{-3}}')).toBe('a -3');
  });

  test('comments print nothing, and trim like actions', () => {
    expect(render('{{.Name}}{{/* a comment */}}')).toBe('/web');
    expect(render('a {{- /* a comment */ -}} b')).toBe('ab');
  });

  test('quoted strings take Go escapes and raw strings none', () => {
    expect(render('{{"a\\tb\\u00e9\\x41"}}|{{`a\\u00e9`}}')).toBe('a\tbéA|a\\u00e9');
  });

  test('numbers are read in Go forms: hex, octal, binary, underscores, exponents and characters', () => {
    expect(render("{{0x1F}} {{017}} {{0b101}} {{1_000}} {{1e3}} {{'a'}}")).toBe('31 15 5 1000 1000 97');
  });

  test('\\t and \\n written out in a format are a tab and a newline, as docker reads them', () => {
    expect(render('{{.Name}}\\t{{.State.Status}}\\n')).toBe('/web\trunning\n');
  });
});

describe('fields and variables', () => {
  test('a missing field prints <no value>, and so does a field of it', () => {
    expect(render('{{.Missing}} {{.Missing.Deeper}} {{.State.Health.Status}}')).toBe('<no value> <no value> <no value>');
  });

  test("Object's own properties are no fields", () => {
    expect(render('{{.constructor}}')).toBe('<no value>');
  });

  test('a field of a string is an error naming the field and the type, placed at that field', () => {
    expect(failure(() => render('{{.Name.First}}'))).toBe('template: :1:7: executing "" at <.Name.First>: can\'t evaluate field First in type string');
  });

  test('a declared variable prints nothing and keeps its value', () => {
    expect(render('{{$name := .Name}}[{{$name}}]')).toBe('[/web]');
  });

  test('an assignment in an if changes the variable outside it', () => {
    expect(render('{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}')).toBe('2');
  });

  test('$ is the data wherever the dot has moved', () => {
    expect(render('{{range .Mounts}}{{$.Name}}:{{.Destination}} {{end}}')).toBe('/web:/data /web:/logs ');
  });

  test('fields are read from a variable', () => {
    expect(render('{{$c := .}}{{$c.State.Status}}')).toBe('running');
  });

  test('fields are read from a parenthesised pipeline', () => {
    expect(render('{{(index .IPAM.Config 0).Gateway}}')).toBe('172.17.0.1');
  });

  test('a variable nobody declared is an error when parsing', () => {
    expect(failure(() => render('{{$nope}}'))).toBe('template: :1: undefined variable "$nope"');
  });
});

describe('pipelines', () => {
  test('the piped value is the last argument of the next command', () => {
    expect(render('{{.State.Status | printf "%.3s"}}')).toBe('run');
  });

  test('pipes chain', () => {
    expect(render('{{.State.Status | upper | printf "<%s>"}}')).toBe('<RUNNING>');
  });

  test('a parenthesised pipeline is an argument', () => {
    expect(render('{{len (split "a,b,c" ",")}}')).toBe('3');
  });

  test('a field takes no argument, piped or not', () => {
    expect(failure(() => render('{{.Name | .State}}'))).toBe('template: :1:10: executing "" at <.State>: State is not a method but has arguments');
  });

  test('a literal cannot follow a pipe', () => {
    expect(failure(() => render('{{.Name | "x"}}'))).toBe('template: :1: non executable command in pipeline stage 2');
  });
});

describe('control structures', () => {
  test('if prints its body when the value is true and else when it is not', () => {
    expect(render('{{if .State.Running}}up{{else}}down{{end}} {{if .State.ExitCode}}failed{{else}}ok{{end}}')).toBe('up ok');
  });

  test('else if tries the next condition', () => {
    expect(render('{{if eq .State.Status "exited"}}exited{{else if .State.Running}}running{{else}}other{{end}}')).toBe('running');
  });

  test('nil, zero, empty strings, arrays and maps are false', () => {
    expect(render('{{if .State.Health}}1{{end}}{{if 0}}2{{end}}{{if ""}}3{{end}}{{if .Config.Env}}4{{end}}{{if .Nothing}}5{{end}}')).toBe('');
  });

  test('with moves the dot to its value', () => {
    expect(render('{{with .State}}{{.Status}}{{end}}')).toBe('running');
  });

  test("with's else runs when the value is empty", () => {
    expect(render('{{with .State.Health}}{{.Status}}{{else}}none{{end}}')).toBe('none');
  });

  test('range over an array moves the dot to each item', () => {
    expect(render('{{range .Mounts}}{{.Destination}} {{end}}')).toBe('/data /logs ');
  });

  test('range over a map goes in key order, with the key and the value', () => {
    expect(render('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}} {{end}}')).toBe('alpha=2 zeta=1 ');
  });

  test('range over an array gives the index and the item', () => {
    expect(render('{{range $i, $arg := .Config.Cmd}}{{$i}}:{{$arg}} {{end}}')).toBe('0:sh 1:-c 2:top ');
  });

  test('range with one variable sets it to the item', () => {
    expect(render('{{range $n := .NetworkSettings.Networks}}{{$n.IPAddress}} {{end}}')).toBe('172.17.0.2 10.0.0.2 ');
  });

  test("range's else runs for an empty or missing value", () => {
    expect(render('{{range .Config.Env}}x{{else}}no env{{end}} {{range .Nothing}}x{{else}}none{{end}}')).toBe('no env none');
  });

  test('break ends a range and continue skips to the next item', () => {
    expect(render('{{range $i, $a := .Config.Cmd}}{{if eq $i 1}}{{continue}}{{end}}{{$a}} {{end}}')).toBe('sh top ');
    expect(render('{{range .Config.Cmd}}{{if eq . "-c"}}{{break}}{{end}}{{.}} {{end}}')).toBe('sh ');
  });

  test('break outside a range is an error when parsing', () => {
    expect(failure(() => render('{{break}}'))).toBe('template: :1: {{break}} outside {{range}}');
  });

  test('range over a string is an error', () => {
    expect(failure(() => render('{{range .Name}}{{end}}'))).toBe('template: :1:8: executing "" at <.Name>: range can\'t iterate over /web');
  });
});

describe("Go's functions", () => {
  test('and and or give the argument that decides, evaluating no further', () => {
    expect(render('{{and 1 0 (index .RepoTags 9)}} {{or 0 "" "z" (index .RepoTags 9)}} {{and 1 2}}')).toBe('0 z 2');
  });

  test('not negates the truth of its argument', () => {
    expect(render('{{not .State.Running}} {{not .Config.Env}}')).toBe('false true');
  });

  test('len counts bytes of a string, items of an array and keys of a map', () => {
    expect(render('{{len "é"}} {{len .Mounts}} {{len .Config.Labels}}')).toBe('2 2 2');
  });

  test('index reads arrays by number and maps by key, through several levels', () => {
    expect(render('{{index .RepoTags 1}} {{index .Config.Labels "zeta"}} {{index .NetworkSettings.Networks "web" "IPAddress"}}')).toBe('busybox:1 1 10.0.0.2');
  });

  test('index of a key a string-valued map lacks (labels, options) gives the empty string, as Go gives its zero value', () => {
    expect(render('[{{index .Config.Labels "nope"}}] [{{index .HostConfig.LogConfig.Config "nope"}}]')).toBe('[] []');
    expect(renderTemplate('[{{index .Options "nope"}}] [{{index .IPAM.Options "nope"}}]', { Options: {}, IPAM: { Options: {} } })).toBe('[] []');
  });

  test('index of a network a container is not on gives a nil pointer, printed <nil>', () => {
    expect(render('{{index .NetworkSettings.Networks "nope"}}')).toBe('<nil>');
  });

  test('index of a key a struct-valued map lacks gives the empty struct', () => {
    expect(render('{{index .Config.Volumes "/nope"}}')).toBe('{}');
    expect(renderTemplate('{{index .Containers "nope"}}', { Containers: {} })).toBe('{    }');
  });

  test('index of a key a map of interface{} lacks (a volume\'s Status) prints <no value>', () => {
    expect(renderTemplate('{{index .Status "nope"}}', { Status: {} })).toBe('<no value>');
  });

  test('a field of a map it lacks prints <no value>, even in a map of strings (Go\'s missingkey=default)', () => {
    expect(render('{{.Config.Labels.nope}}')).toBe('<no value>');
  });

  test('index past the end of an array is an error', () => {
    expect(failure(() => render('{{index .RepoTags 5}}'))).toBe('template: :1:2: executing "" at <index .RepoTags 5>: error calling index: index out of range: 5');
  });

  test('slice cuts arrays and strings', () => {
    expect(render('{{slice .Config.Cmd 1}} {{slice "abcdef" 1 3}}')).toBe('[-c top] bc');
  });

  test('eq is true when the first argument equals any other', () => {
    expect(render('{{eq .State.Status "exited" "running"}} {{eq 1 2}} {{ne .Name "/web"}}')).toBe('true false false');
  });

  test('lt, le, gt and ge order numbers and strings', () => {
    expect(render('{{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}}')).toBe('true true true false');
  });

  test('comparing a number with a string is an error', () => {
    expect(failure(() => render('{{eq 1 "1"}}'))).toBe('template: :1:2: executing "" at <eq 1 "1">: error calling eq: incompatible types for comparison');
  });

  test('print puts spaces between operands when neither is a string, println between all', () => {
    expect(render('{{print 1 2 "a" "b" 3}}|{{println "a" 1}}')).toBe('1 2ab3|a 1\n');
  });

  test('printf formats with Go verbs, flags, widths and precisions', () => {
    expect(render('{{printf "%s|%d|%5.2f|%-6s|%q|%t|%x|%v|%05d|%3d%%" "a" 42 3.14159 "ab" "a\\"b" true 255 .Config.Cmd -42 7}}')).toBe(
      'a|42| 3.14|ab    |"a\\"b"|true|ff|[sh -c top]|-0042|  7%',
    );
  });

  test("%q prints a lone surrogate as U+FFFD, which Go's JSON decoder made of it", () => {
    const decoded = JSON.parse('{"Cmd":"a\\ud800b","Low":"\\udc00"}') as Record<string, string>;
    expect(renderTemplate('{{printf "%q" .Cmd}} {{printf "%q" .Low}}', decoded)).toBe('"a\ufffdb" "\ufffd"');
    expect(commandColumn(decoded.Cmd as string)).toBe('"a\ufffdb"');
  });

  test('printf marks missing, extra and mistyped arguments as Go does', () => {
    expect(render('{{printf "%d %s" 1}}|{{printf "%d" "x"}}|{{printf "%s" "a" 2}}')).toBe('1 %!s(MISSING)|%!d(string=x)|a%!(EXTRA int=2)');
  });

  test('a function given too many arguments is an error', () => {
    expect(failure(() => render('{{len .Mounts .Name}}'))).toBe('template: :1:2: executing "" at <len .Mounts .Name>: wrong number of args for len: want 1 got 2');
  });
});

describe("docker's functions", () => {
  test('json encodes maps with their keys in order, wherever the map was reached from', () => {
    expect(render('{{json .Config.Labels}} {{with .Config}}{{json .Labels}}{{end}}')).toBe('{"alpha":"2","zeta":"1"} {"alpha":"2","zeta":"1"}');
  });

  test('split makes an array and join makes a string of one', () => {
    expect(render('{{split "a,b" ","}} {{join .Config.Cmd "+"}}')).toBe('[a b] sh+-c+top');
  });

  test('title, lower and upper change case', () => {
    expect(render('{{title "hello big-world"}} {{lower "ABC"}} {{upper .State.Status}}')).toBe('Hello Big-World abc RUNNING');
  });

  test('pad surrounds a non-empty string with spaces and truncate cuts one', () => {
    expect(render('[{{pad "x" 1 2}}][{{pad "" 1 2}}][{{truncate .State.Status 3}}]')).toBe('[ x  ][][run]');
  });
});

describe('printing values', () => {
  test('arrays and maps print as Go prints them, maps sorted by key and nil inside as <nil>', () => {
    expect(renderTemplate('{{.List}} {{.Map}}', { List: ['a', 1, true, null], Map: { b: 2, a: [] } })).toBe('[a 1 true <nil>] map[a:[] b:2]');
  });

  test('integers print whole and other numbers as Go prints a float64', () => {
    expect(renderTemplate('{{.A}} {{.B}} {{.C}} {{.D}}', { A: 1_700_000_000, B: 1.5, C: 1234567.5, D: 0.00001 })).toBe('1700000000 1.5 1.2345675e+06 1e-05');
  });
});

describe("a bigint, as Go's int64 (an event's TimeNano)", () => {
  const nano = 1795000000123456789n;

  test('an action, print and println print its exact digits', () => {
    expect(renderTemplate('{{.N}} {{print .N 1}} {{println .N}}', { N: nano })).toBe('1795000000123456789 1795000000123456789 1 1795000000123456789\n');
  });

  test('printf %d and %v print its exact digits, with flags, widths and precisions', () => {
    expect(renderTemplate('{{printf "%d|%v|%22d|%-+21d|%.20d|%022d|%d" .N .N .N .N .N .N .Neg}}', { N: nano, Neg: -nano })).toBe(
      '1795000000123456789|1795000000123456789|   1795000000123456789|+1795000000123456789 |01795000000123456789|0001795000000123456789|-1795000000123456789',
    );
  });

  test('printf formats it in hexadecimal, octal and binary from its exact digits', () => {
    expect(renderTemplate('{{printf "%x|%#X|%o|%O|%b" .N .N .N .N .N}}', { N: nano })).toBe(
      '18e91efd632f4d15|0X18E91EFD632F4D15|143510757654313646425|0o143510757654313646425|1100011101001000111101111110101100011001011110100110100010101',
    );
  });

  test('printf %c, %q and %U take it as a code point', () => {
    expect(renderTemplate('{{printf "%c|%q|%U|%c" .E .E .E .N}}', { E: 233n, N: nano })).toBe("é|'é'|U+00E9|\ufffd");
  });

  test('printf marks a float or string verb given it, and an extra one, with the type int64, as Go does', () => {
    expect(renderTemplate('{{printf "%f|%s" .N .N}}{{printf "" .N}}', { N: nano })).toBe(
      '%!f(int64=1795000000123456789)|%!s(int64=1795000000123456789)%!(EXTRA int64=1795000000123456789)',
    );
  });

  test('eq, ne, lt, le, gt and ge compare it with another bigint and with an integer literal', () => {
    expect(renderTemplate('{{eq .N .N}} {{ne .N .M}} {{lt .N .M}} {{le .N 0}} {{gt .N 0}} {{ge 0 .N}} {{eq .Z 0}}', { N: nano, M: nano + 1n, Z: 0n })).toBe(
      'true true true false true false true',
    );
  });

  test("comparing it with a float is an error, as comparing Go's int64 with a float64 is", () => {
    expect(failure(() => renderTemplate('{{lt .N 1.5}}', { N: nano }))).toBe('template: :1:2: executing "" at <lt .N 1.5>: error calling lt: incompatible types for comparison');
  });

  test('zero is false and any other value true', () => {
    expect(renderTemplate('{{if .Z}}a{{else}}b{{end}}{{if .N}}c{{end}}', { Z: 0n, N: nano })).toBe('bc');
  });

  test('len of it is an error naming int64', () => {
    expect(failure(() => renderTemplate('{{len .N}}', { N: nano }))).toBe('template: :1:2: executing "" at <len .N>: error calling len: len of type int64');
  });

  test('index takes it as an index into an array, checked against its length', () => {
    expect(renderTemplate('{{index .List .One}}', { List: ['a', 'b'], One: 1n })).toBe('b');
    expect(failure(() => renderTemplate('{{index .List .N}}', { List: ['a', 'b'], N: nano }))).toBe(
      'template: :1:2: executing "" at <index .List .N>: error calling index: index out of range: 1795000000123456789',
    );
  });
});

describe('errors', () => {
  test('a function that does not exist is an error when parsing', () => {
    expect(failure(() => render('{{foo .Name}}'))).toBe('template: :1: function "foo" not defined');
  });

  test('an action left open is an error', () => {
    expect(failure(() => render('{{.Name'))).toBe('template: :1: unclosed action');
  });

  test('an {{end}} with nothing to end is an error', () => {
    expect(failure(() => render('{{.Name}}{{end}}'))).toBe('template: :1: unexpected {{end}}');
  });

  test('an {{if}} without its {{end}} is an error', () => {
    expect(failure(() => render('{{if .Name}}x'))).toBe('template: :1: unexpected EOF');
  });

  test('errors name the line they are on', () => {
    expect(failure(() => render('{{.Name}}\n{{nope}}'))).toBe('template: :2: function "nope" not defined');
  });

  test('template errors are CtrErrors of an invalid argument', () => {
    let thrown: unknown;
    try {
      render('{{foo}}');
    } catch (error) {
      thrown = error;
    }
    expect(isCtrError(thrown) && thrown.code).toBe('InvalidArgument');
  });
});

describe('formatItems', () => {
  test("a table's header is the template run on the column names, docker's header functions leaving each name as it is", () => {
    const out = formatItems('table {{.ID}}\\t{{.Status | printf "%.5s"}}\\t{{upper .Names}}', [{ ID: 'abc', Status: 'Up 2 minutes', Names: 'web' }], {
      ID: 'CONTAINER ID',
      Status: 'STATUS',
      Names: 'NAMES',
    });
    expect(out).toBe('CONTAINER ID   STATU     NAMES\nabc            Up 2      WEB');
  });

  test('tabs a template prints inside a range make cells of a table, padded up to the last', () => {
    const out = formatItems('table {{range .Cells}}{{.}}\\t{{end}}', [{ Cells: ['a', 'b'] }], { Cells: 'CELLS' });
    // Ranging over the column name fails, and the header is what was printed before: nothing.
    expect(out).toBe('\na         b         ');
  });

  test('a field that is not a string goes through the template engine, in a plain template too', () => {
    expect(formatItems('{{.Count}} {{.Name}}', [{ Count: 3, Name: 'x' }, { Count: 1.5, Name: 'y' }], {})).toBe('3 x\n1.5 y');
  });

  test('a template that does not parse fails even with nothing to print, in docker\'s words', () => {
    expect(failure(() => formatItems('{{nope}}', [], {}))).toBe('template parsing error: template: :1: function "nope" not defined');
  });
});
