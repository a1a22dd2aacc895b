/**
 * The DNS server ends by itself once its root has no network left, so whoever stops or wakes
 * it may find it gone between looking up its pid and signalling it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopDnsDaemon } from '../src/dns-control';
import { StatePaths } from '../src/state';

let base: string;
let paths: StatePaths;
let server: ChildProcess;

beforeEach(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-dns-race-'));
  paths = new StatePaths(path.join(base, 'root'), path.join(base, 'run'));
  await fs.mkdir(paths.runDir, { recursive: true });
  // A process whose command line is the server's, so the pid file is taken for its.
  server = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'ctr-network-dns', paths.dir], { stdio: 'ignore' });
  await fs.writeFile(path.join(paths.runDir, 'dns.pid'), String(server.pid));
  for (let i = 0; i < 100 && !(await fs.readFile(`/proc/${server.pid}/cmdline`, 'utf8')).includes('ctr-network-dns'); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
});

afterEach(async () => {
  jest.restoreAllMocks();
  server.kill('SIGKILL');
  await fs.rm(base, { recursive: true, force: true });
});

test('a server that exits just before its stop is stopped all the same', async () => {
  jest.spyOn(process, 'kill').mockImplementationOnce(() => {
    throw Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
  });
  expect(await stopDnsDaemon(paths)).toBe(true);
  expect(existsSync(path.join(paths.runDir, 'dns.pid'))).toBe(false);
});

test('a stop ends the server with SIGTERM', async () => {
  const exited = new Promise((resolve) => server.once('exit', (_code, signal) => resolve(signal)));
  expect(await stopDnsDaemon(paths)).toBe(true);
  expect(await exited).toBe('SIGTERM');
});
