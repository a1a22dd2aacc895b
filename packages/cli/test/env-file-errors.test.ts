/**
 * What `run` and `create` say of an `--env-file` or `--label-file` they cannot read, in docker
 * CLI 28's words (its kvfile): a file that does not open is Go's bare `open FILE: …`; anything
 * wrong once it is open, a directory's read included, is `invalid env file (FILE): …`, for label
 * files too. The expected lines are what docker 28 printed for the same files. All of it is
 * refused before an image is looked for: the root here has none.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctrOn, type CtrOn, type CtrResult } from './local-ctr';

let dir: string;
let ctr: CtrOn;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-env-file-'));
  ctr = ctrOn(join(dir, 'root'), join(dir, 'run'));
  await mkdir(join(dir, 'a-directory'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `ctr command flag file busybox` in `dir`, the file named as given (relative), as docker echoes it. */
const withFile = (command: 'run' | 'create', flag: string, file: string): Promise<CtrResult> =>
  ctr.runWith({ env: process.env, cwd: dir }, command, '--pull', 'never', flag, file, 'busybox');

/** docker's framing of a refusal of `run`'s or `create`'s: the words, a blank line, where to read more; status 125. */
const refused = (command: 'run' | 'create', words: string): CtrResult => ({ code: 125, stdout: '', stderr: `ctr: ${words}\n\nRun 'ctr ${command} --help' for more information\n` });

test('a directory is read and fails as Go reads one', async () => {
  expect(await withFile('run', '--env-file', 'a-directory')).toEqual(refused('run', 'invalid env file (a-directory): read a-directory: is a directory'));
});

test('a missing file is the open that failed, unwrapped', async () => {
  expect(await withFile('run', '--env-file', 'absent')).toEqual(refused('run', 'open absent: no such file or directory'));
});

test('a name with whitespace names the file it is in', async () => {
  await writeFile(join(dir, 'spaced'), 'OK=1\nf  =x\n');
  expect(await withFile('run', '--env-file', 'spaced')).toEqual(refused('run', "invalid env file (spaced): variable 'f  ' contains whitespaces"));
});

test('a line without a name names the file it is in', async () => {
  await writeFile(join(dir, 'nameless'), '# comment\n=x\n');
  expect(await withFile('create', '--env-file', 'nameless')).toEqual(refused('create', "invalid env file (nameless): no variable name on line '=x'"));
});

test('a line that is not UTF-8 is refused with its number and bytes, as Go prints a []byte', async () => {
  await writeFile(join(dir, 'latin1'), Buffer.from('OK=1\nA=\xff\n', 'latin1'));
  expect(await withFile('run', '--env-file', 'latin1')).toEqual(refused('run', 'invalid env file (latin1): invalid utf8 bytes at line 2: [65 61 255]'));
});

test("a line longer than Go's scanner takes (64 KiB) is refused in its words", async () => {
  await writeFile(join(dir, 'long'), `X=${'a'.repeat(64 * 1024)}\n`);
  expect(await withFile('run', '--env-file', 'long')).toEqual(refused('run', 'invalid env file (long): bufio.Scanner: token too long'));
});

test('a --label-file is read by the same code, and says "env file" as docker\'s does', async () => {
  expect(await withFile('create', '--label-file', 'a-directory')).toEqual(refused('create', 'invalid env file (a-directory): read a-directory: is a directory'));
  expect(await withFile('create', '--label-file', 'absent')).toEqual(refused('create', 'open absent: no such file or directory'));
});
