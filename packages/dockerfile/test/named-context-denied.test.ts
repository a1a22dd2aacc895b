/**
 * A named build context whose directory cannot be read fails in buildx's words, as what it
 * is: a path denied to the builder is Denied ("permission denied"), not a missing one
 * (NotFound). Checked as a user who may not look in a root-only directory (root may look
 * anywhere), through the built package.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { resolveNamedContexts } from '../src/named-context';

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-named-denied-'));
  await mkdir(join(work, 'locked', 'sub'), { recursive: true });
  await chmod(join(work, 'locked'), 0o700);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** resolveNamedContexts of `foo=dir` run as nobody: the failure's code and message. */
async function asNobody(dir: string): Promise<string> {
  const script = `require(${JSON.stringify(join(__dirname, '..', 'dist', 'named-context.js'))}).resolveNamedContexts({ foo: { type: 'local', path: ${JSON.stringify(dir)} } })
    .then(() => console.log('resolved'), (e) => console.log(e.code + ' ' + e.message));`;
  const { stdout } = await promisify(execFile)('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script]);
  return stdout.trim();
}

test('a directory the builder may not reach is Denied: permission denied', async () => {
  const dir = join(work, 'locked', 'sub');
  expect(await asNobody(dir)).toBe(`Denied failed to get build context foo: stat ${dir}: permission denied`);
});

test('a missing directory is still NotFound', async () => {
  const dir = join(work, 'missing');
  await expect(resolveNamedContexts({ foo: { type: 'local', path: dir } })).rejects.toMatchObject({
    code: 'NotFound',
    message: `failed to get build context foo: stat ${dir}: no such file or directory`,
  });
});
