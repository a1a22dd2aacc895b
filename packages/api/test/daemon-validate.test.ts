/** `ctrd --validate`: the configuration checked, and dockerd's answer, without serving anything. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CTRD = join(__dirname, '..', 'bin', 'ctrd.js');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctrd-validate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function ctrd(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CTRD, ...args], (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('a good file is "configuration OK" on stderr, as dockerd says it, with nothing on stdout', async () => {
  const file = join(dir, 'good.json');
  await writeFile(file, '{"labels": ["a=b"]}');
  const result = await ctrd('--validate', '--config-file', file);
  expect(result).toEqual({ code: 0, stdout: '', stderr: 'configuration OK\n' });
});

test('a bad file fails the validation, in dockerd’s words', async () => {
  const file = join(dir, 'bad.json');
  await writeFile(file, '{"no-such-key": true}');
  const result = await ctrd('--validate', '--config-file', file);
  expect(result.code).not.toBe(0);
  expect(result.stderr).toContain(`unable to configure the ctr daemon with file ${file}: the following directives don't match any configuration option: no-such-key`);
});
