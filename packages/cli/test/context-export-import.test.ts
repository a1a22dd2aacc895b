import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TarReader, tarDataEntry, TAR_END } from '@ctr/image';
import { runProcess, type ProcessResult } from '../../../test/support/run-process';
import { CTR_BIN, cleanEnv, ctr as run, type Result } from './remote-fixture';

let work: string;
let config: string;
let dir: string;

function ctr(args: string[], input?: string | Buffer): Promise<Result> {
  return run(args, { env: cleanEnv({ CTR_CONFIG: config }), cwd: dir, ...(input === undefined ? {} : { input }) });
}

/** docker's own CLI, on a config directory of its own: no daemon is involved in contexts. */
function docker(args: string[]): Promise<ProcessResult> {
  return runProcess('docker', args, { env: { ...cleanEnv(), HOME: work, DOCKER_CONFIG: join(work, 'docker-config') }, cwd: dir });
}
const hasDocker = spawnSync('docker', ['--version']).status === 0;
const withDocker = hasDocker ? test : test.skip;

const PEM = { ca: 'CA PEM\n', cert: 'CERT PEM\n', key: 'KEY PEM\n' };

/** A context with all three TLS files, named `name`. */
async function createTlsContext(name: string): Promise<void> {
  for (const [file, text] of Object.entries(PEM)) await writeFile(join(dir, `${file}.pem`), text);
  const spec = `host=tcp://127.0.0.1:2376,ca=${join(dir, 'ca.pem')},cert=${join(dir, 'cert.pem')},key=${join(dir, 'key.pem')}`;
  expect((await ctr(['context', 'create', name, '--description', 'with tls', '--docker', spec])).code).toBe(0);
}

/** Each entry of a tar: name, type, mode and data. */
async function entries(archive: Buffer): Promise<Array<{ name: string; typeflag: string; mode: number; data: string }>> {
  const reader = new TarReader((async function* () {
    yield archive;
  })());
  const out: Array<{ name: string; typeflag: string; mode: number; data: string }> = [];
  for (let entry = await reader.next(); entry; entry = await reader.next()) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry.data()) chunks.push(Buffer.from(chunk));
    out.push({ name: entry.header.name, typeflag: entry.header.typeflag, mode: entry.header.mode, data: Buffer.concat(chunks).toString() });
  }
  return out;
}

function tar(files: Array<[string, string | Buffer]>): Buffer {
  const parts = files.flatMap(([name, data]) => tarDataEntry({ name, mode: 0o644 }, Buffer.from(data)));
  return Buffer.concat([...parts, TAR_END]);
}

/**
 * A zip of deflated files, as `zip` or Go's archive/zip write one; with `lastTimes`, the last
 * file's directory record is there that many times (entries that all name the same data). A
 * file given a mode is made by Unix, with that st_mode (`zip --symlinks` stores a link so).
 */
function zip(files: Array<[string, string, number?]>, lastTimes = 1): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [i, [name, text, mode]] of files.entries()) {
    const data = deflateRawSync(Buffer.from(text));
    const nameBytes = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(text.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(8, 10);
    entry.writeUInt32LE(data.length, 20);
    entry.writeUInt32LE(text.length, 24);
    entry.writeUInt16LE(nameBytes.length, 28);
    entry.writeUInt32LE(offset, 42);
    if (mode !== undefined) {
      entry.writeUInt16LE((3 << 8) | 20, 4);
      entry.writeUInt32LE((mode << 16) >>> 0, 38);
    }
    locals.push(local, nameBytes, data);
    for (let k = i === files.length - 1 ? lastTimes : 1; k > 0; k--) central.push(entry, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(central);
  const records = central.length / 2;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(records, 8);
  end.writeUInt16LE(records, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** `archive`, a zip, with its first directory record's name said to run far past the archive's end. */
function truncatedRecord(archive: Buffer): Buffer {
  const out = Buffer.from(archive);
  out.writeUInt16LE(0xffff, out.readUInt32LE(out.length - 22 + 16) + 28);
  return out;
}

/** The context names in the store, default aside. */
async function names(): Promise<string[]> {
  return (await ctr(['context', 'ls', '-q'])).stdout.split('\n').filter((n) => n && n !== 'default');
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-context-archive-'));
});

let n = 0;
beforeEach(async () => {
  config = join(work, `config-${++n}`);
  dir = join(work, `dir-${n}`);
  await mkdir(dir);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test('export writes docker\'s entries to <CONTEXT>.dockercontext, readable by its owner only', async () => {
  await createTlsContext('remote');
  expect(await ctr(['context', 'export', 'remote'])).toEqual({ code: 0, stdout: '', stderr: 'Written file "remote.dockercontext"\n' });
  const file = join(dir, 'remote.dockercontext');
  expect((await stat(file)).mode & 0o777).toBe(0o600);
  expect(await entries(await readFile(file))).toEqual([
    { name: 'meta.json', typeflag: '0', mode: 0o644, data: '{"Name":"remote","Metadata":{"Description":"with tls"},"Endpoints":{"docker":{"Host":"tcp://127.0.0.1:2376","SkipTLSVerify":false}}}' },
    { name: 'tls', typeflag: '5', mode: 0o700, data: '' },
    { name: 'tls/docker', typeflag: '5', mode: 0o700, data: '' },
    { name: 'tls/docker/ca.pem', typeflag: '0', mode: 0o600, data: PEM.ca },
    { name: 'tls/docker/cert.pem', typeflag: '0', mode: 0o600, data: PEM.cert },
    { name: 'tls/docker/key.pem', typeflag: '0', mode: 0o600, data: PEM.key },
  ]);
});

test('export of a context without TLS files has no endpoint directory', async () => {
  expect((await ctr(['context', 'create', 'plain', '--docker', 'host=tcp://127.0.0.1:1'])).code).toBe(0);
  expect((await ctr(['context', 'export', 'plain', 'out.tar'])).stderr).toBe('Written file "out.tar"\n');
  expect((await entries(await readFile(join(dir, 'out.tar')))).map((e) => e.name)).toEqual(['meta.json', 'tls']);
});

test('export to - writes the archive to stdout and says nothing', async () => {
  await createTlsContext('remote');
  const result = await ctr(['context', 'export', 'remote', '-']);
  expect(result.code).toBe(0);
  expect(result.stderr).toBe('');
  expect((await entries(Buffer.from(result.stdout))).map((e) => e.name)).toEqual(['meta.json', 'tls', 'tls/docker', 'tls/docker/ca.pem', 'tls/docker/cert.pem', 'tls/docker/key.pem']);
});

test('export never writes over an existing file', async () => {
  await createTlsContext('remote');
  await writeFile(join(dir, 'taken'), 'mine');
  expect(await ctr(['context', 'export', 'remote', 'taken'])).toEqual({ code: 1, stdout: '', stderr: 'open taken: file exists\n' });
  expect(await readFile(join(dir, 'taken'), 'utf8')).toBe('mine');
});

test('export refuses to write a tar to a terminal', async () => {
  await createTlsContext('remote');
  // `script` gives the command a terminal for stdout.
  const command = `CTR_CONFIG=${config} ${join(__dirname, '..', 'bin', 'ctr')} context export remote -; echo "rc=$?"`;
  const result = await runProcess('script', ['-qec', command, '/dev/null'], { env: cleanEnv(), cwd: dir });
  expect(result.stdout.replace(/\r/g, '')).toBe('cowardly refusing to export to a terminal, specify a file path\nrc=1\n');
});

test('export of a missing context fails in docker\'s words and creates no file', async () => {
  const result = await ctr(['context', 'export', 'nope']);
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/^context "nope": context not found: open .*\/contexts\/meta\/[0-9a-f]{64}\/meta\.json: no such file or directory\n$/);
  expect(await readdir(dir)).toEqual([]);
});

test('import creates the context with its TLS files, naming it on stdout', async () => {
  await createTlsContext('remote');
  await ctr(['context', 'export', 'remote', 'r.tar']);
  expect(await ctr(['context', 'import', 'copy', 'r.tar'])).toEqual({ code: 0, stdout: 'copy\n', stderr: 'Successfully imported context "copy"\n' });
  const [inspected] = JSON.parse((await ctr(['context', 'inspect', 'copy'])).stdout) as Array<{ Name: string; Endpoints: unknown; TLSMaterial: unknown; Storage: { TLSPath: string } }>;
  expect(inspected?.Name).toBe('copy');
  expect(inspected?.Endpoints).toEqual({ docker: { Host: 'tcp://127.0.0.1:2376', SkipTLSVerify: false } });
  expect(inspected?.TLSMaterial).toEqual({ docker: ['ca.pem', 'cert.pem', 'key.pem'] });
  expect(await readFile(join(inspected?.Storage.TLSPath as string, 'docker', 'key.pem'), 'utf8')).toBe(PEM.key);
});

test('import reads the archive from stdin with -', async () => {
  const archive = tar([['meta.json', '{"Name":"x","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://127.0.0.1:1","SkipTLSVerify":true}}}']]);
  expect(await ctr(['context', 'import', 'piped', '-'], archive)).toEqual({ code: 0, stdout: 'piped\n', stderr: 'Successfully imported context "piped"\n' });
  expect(await names()).toEqual(['piped']);
});

test('import takes docker\'s zip form too', async () => {
  await writeFile(join(dir, 'c.zip'), zip([['meta.json', '{"Metadata":{},"Endpoints":{"docker":{"Host":"tcp://127.0.0.1:1","SkipTLSVerify":false}}}'], ['tls/docker/ca.pem', PEM.ca]]));
  expect((await ctr(['context', 'import', 'zipped', 'c.zip'])).code).toBe(0);
  const [inspected] = JSON.parse((await ctr(['context', 'inspect', 'zipped'])).stdout) as Array<{ TLSMaterial: unknown }>;
  expect(inspected?.TLSMaterial).toEqual({ docker: ['ca.pem'] });
});

test('import refuses a name that is taken, reserved or invalid, as docker does', async () => {
  await createTlsContext('remote');
  await ctr(['context', 'export', 'remote', 'r.tar']);
  expect(await ctr(['context', 'import', 'remote', 'r.tar'])).toEqual({ code: 1, stdout: '', stderr: 'context "remote" already exists\n' });
  expect((await ctr(['context', 'import', 'default', 'r.tar'])).stderr).toBe('"default" is a reserved context name\n');
  expect((await ctr(['context', 'import', 'bad name', 'r.tar'])).stderr).toBe('context name "bad name" is invalid, names are validated against regexp "^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$"\n');
  expect((await ctr(['context', 'import', 'fine', 'missing.tar'])).stderr).toBe('open missing.tar: no such file or directory\n');
});

test('import of a file that opens but cannot be read is docker\'s read error, and leaves nothing', async () => {
  expect(await ctr(['context', 'import', 'fine', '.'])).toEqual({ code: 1, stdout: '', stderr: 'read .: is a directory\n' });
  expect(await names()).toEqual([]);
});

describe('import refuses a bad archive in docker\'s words and leaves nothing behind', () => {
  const cases: Array<[string, Buffer, string]> = [
    ['a path that climbs out', tar([['meta.json', '{}'], ['tls/../../x', 'a']]), 'tls/../../x: unexpected path format'],
    ['a file docker never writes', tar([['../meta.json', '{}']]), '../meta.json: unexpected context file'],
    ['a backslash', tar([['meta.json', '{}'], ['tls/docker\\ca.pem', 'a']]), "tls/docker\\ca.pem: unexpected '\\' in path"],
    ['a TLS file outside an endpoint', tar([['meta.json', '{}'], ['tls/ca.pem', 'a']]), 'archive format is invalid'],
    ['no meta.json', tar([['tls/docker/ca.pem', 'a']]), 'invalid context: no metadata found'],
    ['meta.json that is not JSON', tar([['meta.json', '{not json']]), "invalid character 'n' looking for beginning of object key string"],
    ['meta.json that is not an object', tar([['meta.json', '[]']]), 'json: cannot unmarshal array into Go value of type store.Metadata'],
    ['more than 10 MiB', tar([['meta.json', '{}'], ['tls/docker/ca.pem', Buffer.alloc(11 << 20, 'a')]]), 'read exceeds the defined limit'],
    ['bytes that are no tar', Buffer.alloc(1024, 'x'), 'archive/tar: invalid tar header'],
    ['zip entries that together inflate past 10 MiB, each under it', zip([['meta.json', '{}'], ['tls/other/a.pem', 'a'.repeat(6 << 20)]], 2), 'read exceeds the defined limit'],
    ['a zip directory record that runs past the end', truncatedRecord(zip([['meta.json', '{}']])), 'unexpected EOF'],
  ];
  test.each(cases)('%s', async (_what, archive, message) => {
    await writeFile(join(dir, 'bad'), archive);
    expect(await ctr(['context', 'import', 'bad', 'bad'])).toEqual({ code: 1, stdout: '', stderr: `${message}\n` });
    expect(await names()).toEqual([]);
    expect(await readdir(join(config, 'contexts', 'meta')).catch(() => [])).toEqual([]);
  });
});

const META = '{"Name":"x","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://127.0.0.1:1","SkipTLSVerify":false}}}';

describe('a name is taken once: a context begun by another create or import is neither joined nor removed', () => {
  test.each([
    ['import', ['context', 'import', 'claimed', 'c.tar']],
    ['create', ['context', 'create', 'claimed', '--docker', 'host=tcp://127.0.0.1:1']],
  ])('%s fails as the name already exists and leaves the other\'s files', async (_command, args) => {
    // The other has made the context's directories and its TLS file, not yet its meta.json.
    const id = createHash('sha256').update('claimed').digest('hex');
    const theirs = join(config, 'contexts', 'meta', id);
    const theirTls = join(config, 'contexts', 'tls', id, 'docker');
    await mkdir(theirs, { recursive: true });
    await mkdir(theirTls, { recursive: true });
    await writeFile(join(theirTls, 'ca.pem'), 'THEIR CA');
    await writeFile(join(dir, 'c.tar'), tar([['meta.json', META], ['tls/docker/ca.pem', 'MINE']]));
    expect(await ctr(args)).toEqual({ code: 1, stdout: '', stderr: 'context "claimed" already exists\n' });
    expect(await readdir(theirs)).toEqual([]);
    expect(await readFile(join(theirTls, 'ca.pem'), 'utf8')).toBe('THEIR CA');
  });

  test('of imports of one name at once, exactly one takes it, whole, and the others say it exists', async () => {
    await createTlsContext('remote');
    await ctr(['context', 'export', 'remote', 'r.tar']);
    const results = await Promise.all(Array.from({ length: 6 }, () => ctr(['context', 'import', 'race', 'r.tar'])));
    expect(results.filter((r) => r.code === 0)).toEqual([{ code: 0, stdout: 'race\n', stderr: 'Successfully imported context "race"\n' }]);
    expect(results.filter((r) => r.code !== 0)).toEqual(Array(5).fill({ code: 1, stdout: '', stderr: 'context "race" already exists\n' }));
    const [inspected] = JSON.parse((await ctr(['context', 'inspect', 'race'])).stdout) as Array<{ TLSMaterial: unknown }>;
    expect(inspected?.TLSMaterial).toEqual({ docker: ['ca.pem', 'cert.pem', 'key.pem'] });
  });
});

/** `program context import NAME -` with a directory as its stdin. */
function importFromDirectory(program: string, env: NodeJS.ProcessEnv): Promise<ProcessResult> {
  return runProcess('sh', ['-c', 'exec "$0" context import dirin - < "$1"', program, dir], { env });
}

test('import from a stdin that is a directory fails reading it, as docker\'s, and leaves nothing', async () => {
  expect(await importFromDirectory(CTR_BIN, cleanEnv({ CTR_CONFIG: config }))).toEqual({ code: 1, stdout: '', stderr: 'read /dev/stdin: is a directory\n' });
  expect(await names()).toEqual([]);
});

withDocker('import from a stdin that is a directory says what docker says', async () => {
  const theirs = await importFromDirectory('docker', { ...cleanEnv(), HOME: work, DOCKER_CONFIG: join(work, 'docker-config') });
  expect(await importFromDirectory(CTR_BIN, cleanEnv({ CTR_CONFIG: config }))).toEqual(theirs);
});

describe('zip entries that are symlinks are passed by, as docker 28\'s import passes all but regular files', () => {
  const LINK = 0o120777;
  const archives: Array<[string, Buffer]> = [
    ['a linked TLS file', zip([['meta.json', META], ['tls/docker/ca.pem', '/etc/hostname', LINK]])],
    ['a linked meta.json', zip([['meta.json', 'real.json', LINK], ['tls/docker/ca.pem', PEM.ca]])],
  ];

  test('a linked TLS file is not imported, its target\'s name not taken for its content', async () => {
    await writeFile(join(dir, 'links.zip'), archives[0]?.[1] as Buffer);
    expect((await ctr(['context', 'import', 'linked', 'links.zip'])).code).toBe(0);
    const [inspected] = JSON.parse((await ctr(['context', 'inspect', 'linked'])).stdout) as Array<{ TLSMaterial: unknown }>;
    expect(inspected?.TLSMaterial).toEqual({});
  });

  test('a linked meta.json is no metadata', async () => {
    await writeFile(join(dir, 'links.zip'), archives[1]?.[1] as Buffer);
    expect(await ctr(['context', 'import', 'linked', 'links.zip'])).toEqual({ code: 1, stdout: '', stderr: 'invalid context: no metadata found\n' });
  });

  withDocker.each(archives)('%s: ctr imports what docker imports', async (_what, archive) => {
    await writeFile(join(dir, 'links.zip'), archive);
    expect(await ctr(['context', 'import', 'linked', 'links.zip'])).toEqual(await docker(['context', 'import', 'linked', 'links.zip']));
    const tls = ['context', 'inspect', 'linked', '--format', '{{json .TLSMaterial}}'];
    expect((await ctr(tls)).stdout).toBe((await docker(tls)).stdout);
    await docker(['context', 'rm', '-f', 'linked']);
  });
});

/** A self-signed certificate and its key as ca.pem, cert.pem and key.pem in `dir`: docker checks the files it is given. */
async function realPems(): Promise<void> {
  spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-subj', '/CN=ctr-test', '-days', '1'], { cwd: dir, stdio: 'ignore' });
  await writeFile(join(dir, 'ca.pem'), await readFile(join(dir, 'cert.pem')));
}

withDocker('a context docker exported imports into ctr with its TLS files', async () => {
  await realPems();
  const spec = `host=tcp://127.0.0.1:2376,ca=${join(dir, 'ca.pem')},cert=${join(dir, 'cert.pem')},key=${join(dir, 'key.pem')}`;
  expect((await docker(['context', 'create', 'dk', '--docker', spec])).code).toBe(0);
  expect((await docker(['context', 'export', 'dk'])).code).toBe(0);
  expect((await ctr(['context', 'import', 'fromdocker', 'dk.dockercontext'])).code).toBe(0);
  const [inspected] = JSON.parse((await ctr(['context', 'inspect', 'fromdocker'])).stdout) as Array<{ Endpoints: unknown; TLSMaterial: unknown; Storage: { TLSPath: string } }>;
  expect(inspected?.Endpoints).toEqual({ docker: { Host: 'tcp://127.0.0.1:2376', SkipTLSVerify: false } });
  expect(inspected?.TLSMaterial).toEqual({ docker: ['ca.pem', 'cert.pem', 'key.pem'] });
  expect(await readFile(join(inspected?.Storage.TLSPath as string, 'docker', 'cert.pem'), 'utf8')).toBe(await readFile(join(dir, 'cert.pem'), 'utf8'));
  await docker(['context', 'rm', 'dk']);
});

withDocker('a context ctr exported imports into docker, and docker\'s export matches ctr\'s byte for byte up to its end', async () => {
  await realPems();
  const spec = `host=tcp://127.0.0.1:2376,ca=${join(dir, 'ca.pem')},cert=${join(dir, 'cert.pem')},key=${join(dir, 'key.pem')}`;
  expect((await ctr(['context', 'create', 'fromctr', '--description', 'with tls', '--docker', spec])).code).toBe(0);
  await ctr(['context', 'export', 'fromctr', 'ctr.tar']);
  expect(await docker(['context', 'import', 'fromctr', 'ctr.tar'])).toEqual({ code: 0, stdout: 'fromctr\n', stderr: 'Successfully imported context "fromctr"\n' });
  const inspected = await docker(['context', 'inspect', 'fromctr', '--format', '{{json .Endpoints}} {{json .TLSMaterial}}']);
  expect(inspected.stdout).toBe('{"docker":{"Host":"tcp://127.0.0.1:2376","SkipTLSVerify":false}} {"docker":["ca.pem","cert.pem","key.pem"]}\n');
  expect((await docker(['context', 'export', 'fromctr', 'docker.tar'])).code).toBe(0);
  // docker's archive stops after the last file's data (its tar writer is closed after the pipe): ours goes on to a proper end.
  const [ours, theirs] = [await readFile(join(dir, 'ctr.tar')), await readFile(join(dir, 'docker.tar'))];
  expect(ours.subarray(0, theirs.length).equals(theirs)).toBe(true);
  await docker(['context', 'rm', 'fromctr']);
});
