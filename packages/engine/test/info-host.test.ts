/** `docker info` names the host as dockerd does: the kernel's machine name and the distribution's PRETTY_NAME. */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostOsRelease } from '../src/host-info';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let dir: string;
beforeAll(async () => {
  t = await testEngine();
  dir = await mkdtemp(join(tmpdir(), 'ctr-info-host-'));
});
afterAll(async () => {
  await t?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test("info's Architecture is the kernel's machine name, as uname -m prints it", async () => {
  expect((await t.engine.info()).Architecture).toBe(execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim());
});

test("info's OperatingSystem is the host's os-release PRETTY_NAME", async () => {
  const prettyName = execFileSync('sh', ['-c', '. /etc/os-release && printf %s "$PRETTY_NAME"'], { encoding: 'utf8' });
  expect((await t.engine.info()).OperatingSystem).toBe(prettyName);
});

test('the operating system is PRETTY_NAME with its quotes and escapes undone', async () => {
  const file = join(dir, 'quoted');
  await writeFile(file, 'NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian \\"GNU\\"/Linux 12 (bookworm)"\nID=debian\n');
  expect((await hostOsRelease([file])).operatingSystem).toBe('Debian "GNU"/Linux 12 (bookworm)');
});

test('the operating system falls back to the next os-release file when the first is missing', async () => {
  const file = join(dir, 'usr-lib');
  await writeFile(file, "PRETTY_NAME='Alpine Linux v3.20'\n");
  expect((await hostOsRelease([join(dir, 'missing'), file])).operatingSystem).toBe('Alpine Linux v3.20');
});

test('the operating system is "Linux" when os-release names none', async () => {
  const file = join(dir, 'unnamed');
  await writeFile(file, 'ID=custom\n');
  expect((await hostOsRelease([file])).operatingSystem).toBe('Linux');
});
