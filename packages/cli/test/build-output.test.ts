import { mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { TarReader } from '@ctr/image';
import { runProcess } from '../../../test/support/run-process';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

/** The names and contents (files only) of a tar. */
async function tarFiles(tar: Buffer): Promise<Record<string, string>> {
  const reader = new TarReader(Readable.from([tar]));
  const files: Record<string, string> = {};
  for (let entry = await reader.next(); entry; entry = await reader.next()) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry.content()) chunks.push(chunk);
    files[entry.header.name] = Buffer.concat(chunks).toString();
  }
  return files;
}

/** The "export artifacts" pattern: a stage builds them, a FROM scratch stage holds only them. */
const ARTIFACTS = `FROM busybox AS build
RUN mkdir -p /app/bin && echo tool > /app/bin/tool && chmod 755 /app/bin/tool && ln -s tool /app/bin/alias
FROM scratch AS out
COPY --from=build /app/bin /
`;

describe('ctr build --output and --build-context (buildx flags; real runc, overlayfs)', () => {
  let local: LocalCtr;
  let context: string;
  let host: string;
  const ctr = (...args: string[]): Promise<CtrResult> => local.run(...args);

  beforeAll(async () => {
    local = await localCtr('build-output');
    context = await mkdtemp(join(tmpdir(), 'ctr-cli-build-output-context-'));
    host = await mkdtemp(join(tmpdir(), 'ctr-cli-build-output-'));
    await writeFile(join(context, 'Dockerfile'), ARTIFACTS);
  });
  afterAll(async () => {
    await rm(context, { recursive: true, force: true });
    await rm(host, { recursive: true, force: true });
    await local?.cleanup();
  });

  test('-o DIR writes the FROM scratch stage\'s artifacts there and, quiet, prints nothing: there is no image', async () => {
    const dest = join(host, 'dist');
    const built = await ctr('build', '-q', '-o', dest, context);
    expect(built).toMatchObject({ code: 0, stdout: '' });
    expect(await readFile(join(dest, 'tool'), 'utf8')).toBe('tool\n');
    expect(await readlink(join(dest, 'alias'))).toBe('tool');
  });

  test('-o - writes the tar alone to stdout, the progress to stderr', async () => {
    const built = await ctr('build', '-o', '-', context);
    expect(built.code).toBe(0);
    expect(built.stderr).toContain('Step 4/4 : COPY --from=build /app/bin /');
    expect(await tarFiles(Buffer.from(built.stdout))).toEqual({ alias: '', tool: 'tool\n' });
  });

  test('-o - to a terminal is refused in buildx\'s words, before anything is built', async () => {
    // `script` gives the command a terminal for stdout.
    const command = `${local.argv('build', '-o', '-', context).map((word) => `'${word}'`).join(' ')}; echo "rc=$?"`;
    const result = await runProcess('script', ['-qec', command, '/dev/null'], { env: process.env });
    expect(result.stdout.replace(/\r/g, '')).toBe('output file is required for tar exporter. refusing to write to console\nrc=1\n');
  });

  test('--output type=tar,dest=FILE with --target writes that stage\'s filesystem to FILE', async () => {
    const dest = join(host, 'build.tar');
    expect((await ctr('build', '-q', '--target', 'build', '--output', `type=tar,dest=${dest}`, context)).code).toBe(0);
    const files = await tarFiles(await readFile(dest));
    expect(files['app/bin/tool']).toBe('tool\n');
    expect(Object.keys(files)).toContain('bin/busybox');
  });

  test('--output type=image,name=NAME builds the image as without the flag, tagged NAME', async () => {
    const built = await ctr('build', '-q', '--output', 'type=image,name=artifacts:out', context);
    expect(built.code).toBe(0);
    expect((await ctr('image', 'inspect', '--format', '{{.Id}}', 'artifacts:out')).stdout).toBe(built.stdout);
  });

  test.each([
    ['type=nope', 'exporter "nope" could not be found'],
    ['type=local', 'dest is required for local output'],
    ['type=local,dest=x,bogus=1', 'unknown output option "bogus" for type=local'],
    ['dest=x,name=y', 'type is required for output'],
  ])('--output %s is refused before anything is built', async (value, message) => {
    const refused = await ctr('build', '--output', value, context);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(message);
    expect(refused.stdout).toBe('');
  });

  test('--output with a field that is no key=value is refused in buildx\'s words', async () => {
    const refused = await ctr('build', '--output', 'type=local,dest', context);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('invalid value dest');
  });

  test('a local dest that is a file is refused in buildx\'s words', async () => {
    const file = join(host, 'a-file');
    await writeFile(file, 'x');
    const refused = await ctr('build', '-o', file, context);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`failed to create synctarget dest dir ${file}: mkdir ${file}: not a directory`);
  });

  test('--build-context gives FROM, COPY --from and RUN --mount from= a directory and an image by name', async () => {
    const lib = join(host, 'lib');
    await mkdir(lib, { recursive: true });
    await writeFile(join(lib, 'lib.txt'), 'from lib\n');
    const named = await mkdtemp(join(tmpdir(), 'ctr-cli-build-named-'));
    try {
      await writeFile(join(named, 'Dockerfile'), 'FROM alpine\nCOPY --from=lib /lib.txt /copied\nRUN --mount=from=lib,target=/m cat /m/lib.txt > /mounted\n');
      const built = await ctr('build', '-q', '--build-context', `lib=${lib}`, '--build-context', 'alpine=docker-image://busybox', '-t', 'named:1', named);
      expect(built.code).toBe(0);
      const seen = await ctr('run', '--rm', '--pull', 'never', '--network', 'none', 'named:1', 'cat', '/copied', '/mounted');
      expect(seen.stdout).toBe('from lib\nfrom lib\n');
    } finally {
      await rm(named, { recursive: true, force: true });
    }
  });

  test('--build-context without a name, or with a directory that is not there, is refused in buildx\'s words', async () => {
    const unnamed = await ctr('build', '--build-context', 'lib', context);
    expect(unnamed.stderr).toContain('invalid context value: lib, expected key=value');
    const missing = join(host, 'missing');
    const absent = await ctr('build', '--build-context', `lib=${missing}`, context);
    expect(absent.stderr).toContain(`failed to get build context lib: stat ${missing}: no such file or directory`);
    expect([unnamed.code, absent.code]).not.toContain(0);
  });

  test('build --help lists both flags with buildx\'s words', async () => {
    const help = (await ctr('build', '--help')).stdout;
    expect(help).toMatch(/-o, --output stringArray\s+Output destination \(format: "type=local,dest=path"\)/);
    expect(help).toMatch(/--build-context stringArray\s+Additional build contexts \(e\.g\., name=path\)/);
  });
});
