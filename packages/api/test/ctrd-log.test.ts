/**
 * A real ctrd's log, as dockerd's: every line at the daemon's level or above (`--log-level`,
 * daemon.json's `log-level`, `-D`), in logrus's text or JSON format (`--log-format`), the level
 * turned to debug and back by a SIGHUP that changes `debug`, its background work's failures said
 * once until that work succeeds, and dockerd's refusals of a level or format it has not.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '@ctr/engine';
import { NetworkManager } from '@ctr/network';
import { loopbackListenAddr } from '../../../test/support/swarm-agent';
import { reserveTestBlock } from '../../../test/support/test-subnets';
import { json, request } from './fixture';

const CTRD = join(__dirname, '..', 'bin', 'ctrd.js');
const BUILT = join(__dirname, '..', 'dist', 'daemon-main.js');

/** dockerd's time in its log (RFC3339NanoFixed). */
const TIME = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d)`;

jest.setTimeout(60_000);

beforeAll(() => {
  // The bin runs the built package, as an installed ctrd would.
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: build first (npx tsc -b packages/api)`);
});

let work: string;
const children: ChildProcess[] = [];
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-api-ctrd-log-'));
});
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }
  await new NetworkManager({ root: join(work, 'root'), runRoot: join(work, 'run') }).gc().catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

interface Ctrd {
  child: ChildProcess;
  socket: string;
  /** Its stderr's complete lines so far. */
  lines: () => string[];
  exited: Promise<number>;
}

/** ctrd on a throwaway root, with `args` after the root's and socket's flags. */
function ctrd(args: string[]): Ctrd {
  const socket = join(work, 'ctr.sock');
  const child = spawn(process.execPath, [CTRD, '-H', `unix://${socket}`, '--root', join(work, 'root'), '--runroot', join(work, 'run'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let text = '';
  child.stderr?.on('data', (c: Buffer) => (text += c.toString()));
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
  return { child, socket, lines: () => text.split('\n').slice(0, -1), exited };
}

async function until(test: () => boolean | Promise<boolean>, what: string, d: Ctrd): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await test()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not happen; ctrd said:\n${d.lines().join('\n')}`);
}

/** Serving: its socket answers a ping (its log may say nothing of it). */
async function serving(d: Ctrd): Promise<void> {
  await until(async () => (await request(d.socket, 'GET', '/_ping').catch(() => undefined))?.status === 200, 'ctrd start', d);
}

/** The daemon's labels, as `info` shows them: how a test sees a reload through, whatever the log says. */
async function labels(d: Ctrd): Promise<unknown> {
  return (json(await request(d.socket, 'GET', '/info')) as { Labels: unknown }).Labels;
}

async function config(content: Record<string, unknown>): Promise<string> {
  const file = join(work, 'daemon.json');
  await writeFile(file, JSON.stringify(content));
  return file;
}

const said = (d: Ctrd, message: string): string[] => d.lines().filter((line) => line.includes(message));

test('by default, a line is logrus text with its full time and no prefix, at info', async () => {
  const d = ctrd([]);
  await until(() => said(d, 'API listening').length > 0, 'the listening line', d);
  expect(said(d, 'API listening')).toEqual([expect.stringMatching(new RegExp(`^time="${TIME}" level=info msg="API listening on unix://${d.socket.replace(/\./g, '\\.')}"$`))]);
});

test('--log-level error keeps the info lines out and writes the error ones', async () => {
  const file = await config({});
  const d = ctrd(['--log-level', 'error', '--config-file', file]);
  await serving(d);
  // A reload that fails is an error line; the lines around it (got the signal) are info.
  await writeFile(file, '{"labels": ');
  d.child.kill('SIGHUP');
  await until(() => said(d, 'Error reloading configuration').length > 0, 'the failed reload', d);
  expect(d.lines()).toEqual([expect.stringMatching(new RegExp(`^time="${TIME}" level=error msg="Error reloading configuration" error="[^"]*unexpected end of JSON input[^"]*"$`))]);
});

test("daemon.json's log-format json: every line is one logrus JSON entry", async () => {
  const d = ctrd(['--config-file', await config({ 'log-format': 'json' })]);
  await until(() => said(d, 'API listening').length > 0, 'the listening line', d);
  const entries = d.lines().map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(entries).toContainEqual({ level: 'info', msg: `API listening on unix://${d.socket}`, time: expect.stringMatching(new RegExp(`^${TIME}$`)) });
});

test("daemon.json's log-level is honoured as the flag is", async () => {
  const d = ctrd(['--config-file', await config({ 'log-level': 'WARN' })]);
  await serving(d);
  expect(d.lines().filter((line) => / level=(info|debug) /.test(line))).toEqual([]);
});

test('-D wins over --log-level: the level is debug, so info lines are written', async () => {
  const d = ctrd(['-D', '--log-level', 'error']);
  await until(() => said(d, 'API listening').length > 0, 'the listening line', d);
  expect(said(d, 'API listening')).toEqual([expect.stringContaining(' level=info ')]);
});

test('a SIGHUP that turns debug on writes info lines again, and turning it off is info, not the log-level the daemon started with', async () => {
  const file = await config({ 'log-level': 'error', labels: ['n=1'] });
  const d = ctrd(['--config-file', file]);
  await serving(d);

  await config({ 'log-level': 'error', labels: ['n=2'] });
  d.child.kill('SIGHUP');
  await until(async () => JSON.stringify(await labels(d)) === '["n=2"]', 'the reload without debug', d);
  expect(d.lines()).toEqual([]);

  await config({ 'log-level': 'error', labels: ['n=3'], debug: true });
  d.child.kill('SIGHUP');
  await until(() => said(d, 'Reloaded configuration').length === 1, 'the reload that turns debug on', d);

  await config({ 'log-level': 'error', labels: ['n=4'], debug: false });
  d.child.kill('SIGHUP');
  await until(() => said(d, 'Reloaded configuration').length === 2, 'the reload that turns debug off', d);
  expect(await labels(d)).toEqual(['n=4']);
  expect(said(d, 'Reloaded configuration')).toEqual([expect.stringContaining(' level=info '), expect.stringContaining(' level=info ')]);
});

describe("a failure of ctrd's background work", () => {
  const TASK_ID = 'com.docker.swarm.task.id';
  const monitorFailed = (d: Ctrd, level: 'error' | 'debug'): string[] => said(d, ` level=${level} msg="the swarm task monitor failed" `);

  /**
   * A container labelled as a task of this node that the swarm does not know: its exit makes the
   * task monitor pass, and a pass that works removes it.
   */
  async function strayTask(d: Ctrd, nodeId: string, n: number): Promise<void> {
    const body = { Image: 'busybox', Cmd: ['true'], Labels: { [TASK_ID]: `stray-${n}`, 'com.docker.swarm.node.id': nodeId }, HostConfig: { NetworkMode: 'none' } };
    const { Id } = json(await request(d.socket, 'POST', '/containers/create', JSON.stringify(body))) as { Id: string };
    expect((await request(d.socket, 'POST', `/containers/${Id}/start`)).status).toBe(204);
  }

  const strays = async (d: Ctrd): Promise<unknown[]> => json(await request(d.socket, 'GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [TASK_ID] }))}`)) as unknown[];

  test('is one error line however often it recurs, and an error line again once the work has succeeded in between', async () => {
    const root = join(work, 'root');
    const engine = new Engine({ root, runRoot: join(work, 'run') });
    await engine.importBusybox();
    await engine.close();
    const block = reserveTestBlock();
    const d = ctrd(['-D']);
    await serving(d);
    // A file of the cluster store that does not parse fails every pass until it is gone.
    const broken = join(root, 'swarm', 'services', 'broken.json');
    try {
      const init = await request(d.socket, 'POST', '/swarm/init', JSON.stringify({ ListenAddr: await loopbackListenAddr(), AdvertiseAddr: '127.0.0.1', DefaultAddrPool: [block.subnet(0)] }));
      expect(init.status).toBe(200);
      const nodeId = json(init) as string;
      await mkdir(join(root, 'swarm', 'services'), { recursive: true });

      await writeFile(broken, '{');
      await strayTask(d, nodeId, 1);
      await until(() => monitorFailed(d, 'error').length === 1, 'the first failed pass', d);
      await strayTask(d, nodeId, 2);
      await until(() => said(d, 'the swarm task monitor failed').some((line) => line.includes(' failures=2')), 'the second failed pass', d);

      await rm(broken);
      // Passes run one after another: once the second stray is gone, the pass that removed the
      // first has ended (a stray is gone before its pass ends), and it worked.
      for (const n of [3, 4]) {
        await strayTask(d, nodeId, n);
        await until(async () => (await strays(d)).length === 0, 'a pass that works', d);
      }

      await writeFile(broken, '{');
      await strayTask(d, nodeId, 5);
      await until(() => monitorFailed(d, 'error').length === 2, 'the failed pass after the one that worked', d);
      expect(monitorFailed(d, 'error')).toEqual([expect.not.stringContaining('failures='), expect.not.stringContaining('failures=')]);
    } finally {
      await rm(broken, { force: true });
      await request(d.socket, 'POST', '/swarm/leave?force=1').catch(() => undefined);
      block.release();
    }
  }, 180_000);
});

describe('ctrd refuses to start, plainly and in dockerd words,', () => {
  test('with a level logrus has not', async () => {
    const d = ctrd(['--log-level', 'verbose']);
    expect(await d.exited).toBe(1);
    // No file read: the flags' error as it is, as dockerd's.
    expect(d.lines()).toEqual(['ctrd: invalid logging level: verbose']);
  });

  test("with daemon.json's format neither text nor json", async () => {
    const file = await config({ 'log-format': 'xml' });
    const d = ctrd(['--config-file', file]);
    expect(await d.exited).toBe(1);
    expect(d.lines()).toEqual([`ctrd: unable to configure the ctr daemon with file ${file}: merged configuration validation from file and command line flags failed: invalid log format: xml`]);
  });

  test('with a swarm key it cannot honour, saying why', async () => {
    const d = ctrd(['--config-file', await config({ 'swarm-raft-heartbeat-tick': 3 })]);
    expect(await d.exited).toBe(1);
    expect(d.lines().join('\n')).toContain(`ctr does not support the "swarm-raft-heartbeat-tick" configuration option: ctr's swarm has a single manager and no raft to tune`);
  });
});
