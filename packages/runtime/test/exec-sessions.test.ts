import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Collector, eventually, testBed, type TestBed } from './helpers';
import { sessionExitDir, sessionMonitorPidFile } from '../src/exec-sessions';
import { isAlive } from '../src/proc-stat';

// A second process loads the built package, as another engine on the same root would.
const built = path.resolve(__dirname, '../dist/index.js');

let bed: TestBed;
let rootfs: string;
beforeAll(async () => {
  if (!existsSync(built)) throw new Error(`${built} is missing: build first (npx tsc -b packages/runtime)`);
  bed = await testBed();
  rootfs = await bed.rootfs();
  await bed.runtime.create('host', { rootfs, image: { Cmd: ['sleep', '1000'] } });
  await bed.runtime.start('host');
});
afterAll(async () => {
  await bed.cleanup();
});

// The processes a test started, killed after it if they still run.
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function execDir(id: string): string {
  return path.join(bed.base, 'root', 'containers', id, 'exec');
}

function sessions(id = 'host'): string[] {
  return existsSync(execDir(id)) ? readdirSync(execDir(id)) : [];
}

/** Start `cmd` in `id` and have an abort detach from it as soon as it runs; resolves to its session's name. */
async function detachedExec(cmd: string[], id = 'host'): Promise<string> {
  const before = sessions(id);
  const controller = new AbortController();
  const error = await bed.runtime.exec(id, { cmd, signal: controller.signal, onStart: () => controller.abort() }).catch((e: unknown) => e);
  expect((error as { code?: string }).code).toBe('Aborted');
  const [session, ...more] = sessions(id).filter((s) => !before.includes(s));
  expect(more).toEqual([]);
  return session as string;
}

/** Resolves once conmon has recorded the end of the session's process (its exit file, named for the container). */
async function ended(session: string, id = 'host'): Promise<void> {
  await eventually(async () => {
    if (!existsSync(path.join(sessionExitDir(path.join(execDir(id), session)), id))) throw new Error(`exec session ${session} has not ended`);
  }, 30_000);
}

test('the session of a detached exec that has ended is gone after the next exec', async () => {
  const session = await detachedExec(['true']);
  await ended(session);
  await bed.runtime.exec('host', { cmd: ['true'] });
  expect(sessions()).not.toContain(session);
});

test('the session of a detached exec that still runs is kept through the next exec', async () => {
  const session = await detachedExec(['sleep', '1004']);
  await bed.runtime.exec('host', { cmd: ['true'] });
  expect(sessions()).toContain(session);
});

test('the session of a detached exec whose conmon died without an exit file is gone after the next exec', async () => {
  const session = await detachedExec(['sleep', '1007']);
  const monitor = Number(readFileSync(sessionMonitorPidFile(path.join(execDir('host'), session)), 'utf8'));
  process.kill(monitor, 'SIGKILL');
  await eventually(async () => {
    if (isAlive(monitor)) throw new Error(`conmon ${monitor} still runs`);
  }, 30_000);
  await bed.runtime.exec('host', { cmd: ['true'] });
  expect(sessions()).not.toContain(session);
});

test('the session of an exec -d that has ended is gone after the next exec', async () => {
  const before = sessions();
  await bed.runtime.exec('host', { cmd: ['true'], detach: true });
  const [session] = sessions().filter((s) => !before.includes(s));
  await ended(session as string);
  await bed.runtime.exec('host', { cmd: ['true'] });
  expect(sessions()).not.toContain(session);
});

test('an exec that starts by sweeping an ended session still returns its own exit code (a guard: the sweep is synchronous)', async () => {
  await ended(await detachedExec(['true']));
  const result = await bed.runtime.exec('host', { cmd: ['sh', '-c', 'exit 7'] });
  expect(result.exitCode).toBe(7);
});

test('concurrent execs, the first of them sweeping an ended session, each get their own output and exit code (a guard)', async () => {
  await ended(await detachedExec(['true']));
  const runs = [1, 2, 3, 4].map(async (n) => {
    const stdout = new Collector();
    const { exitCode } = await bed.runtime.exec('host', { cmd: ['sh', '-c', `echo ${n}; exit ${n}`], stdout });
    return `${stdout.text().trim()}:${exitCode}`;
  });
  expect(await Promise.all(runs)).toEqual(['1:1', '2:2', '3:3', '4:4']);
});

/** A caller of `exec` in another process, as another engine on the same root would be. */
interface OtherCaller {
  pid: number;
  session: string;
  /** What it has printed: `started`, then `exit <code>` or `error <message>`. */
  output(): string;
  closed: Promise<void>;
}

/**
 * Have another process exec, in `host`, a command that runs until the file `/<flag>` appears
 * and then exits 7, and wait for it; resolves once the command runs.
 */
async function callerElsewhere(flag: string): Promise<OtherCaller> {
  const before = sessions();
  const script = `const { Runtime } = require(process.argv[1]);
    const rt = new Runtime(JSON.parse(process.argv[2]));
    rt.exec('host', { cmd: ['sh', '-c', 'until [ -e /${flag} ]; do sleep 0.05; done; exit 7'], onStart: () => console.log('started') })
      .then((r) => console.log('exit ' + r.exitCode), (e) => console.log('error ' + e.message));`;
  const options = JSON.stringify({ root: path.join(bed.base, 'root'), runRoot: path.join(bed.base, 'run'), cgroupParent: bed.cgroupParent });
  const child = spawn(process.execPath, ['-e', script, built, options], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  const started = new Promise<void>((resolve) =>
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('started\n')) resolve();
    }),
  );
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await Promise.race([started, closed]);
  if (out !== 'started\n') throw new Error(`the caller in another process did not start its exec: ${out}`);
  const [session] = sessions().filter((s) => !before.includes(s));
  return { pid: child.pid as number, session: session as string, output: () => out, closed };
}

/** Let the commands that `callerElsewhere(flag)` started end. */
async function release(flag: string): Promise<void> {
  await writeFile(path.join(rootfs, flag), '');
}

async function killed(caller: OtherCaller): Promise<void> {
  process.kill(caller.pid, 'SIGKILL');
  await caller.closed;
}

/**
 * Start a process of the test's own with `pid`, freed by a process that has been reaped: the
 * kernel gives the pid after ns_last_pid to the next process created. Another process on the
 * machine may be created in between: tried again then.
 */
async function processWithPid(pid: number): Promise<ChildProcess> {
  for (let attempt = 0; attempt < 100; attempt++) {
    writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
    const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
    children.push(child);
    if (child.pid === pid) return child;
    child.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`pid ${pid} went to other processes 100 times in a row`);
}

test('an ended exec keeps its session until its caller, in another process, has read the exit code', async () => {
  const caller = await callerElsewhere('go-waiting');
  // The caller is held between conmon's exit file and its report on the pipe.
  process.kill(caller.pid, 'SIGSTOP');
  await release('go-waiting');
  await ended(caller.session);
  await bed.runtime.exec('host', { cmd: ['true'] });
  expect(sessions()).toContain(caller.session);
  process.kill(caller.pid, 'SIGCONT');
  await caller.closed;
  expect(caller.output()).toBe('started\nexit 7\n');
});

test('the session of an ended exec whose caller was killed while it waited is gone after the next exec', async () => {
  const caller = await callerElsewhere('go-killed');
  await killed(caller);
  await release('go-killed');
  await ended(caller.session);
  await bed.runtime.exec('host', { cmd: ['true'] });
  expect(sessions()).not.toContain(caller.session);
});

test('the session of an exec whose caller was killed is kept through the next exec while its process runs', async () => {
  const caller = await callerElsewhere('go-running');
  await killed(caller);
  await bed.runtime.exec('host', { cmd: ['true'] });
  expect(sessions()).toContain(caller.session);
  // The exec's loop ends here, not with the container.
  await release('go-running');
});

test('the session of an ended exec whose killed caller\'s pid another process has taken is gone after the next exec', async () => {
  const caller = await callerElsewhere('go-reused');
  await killed(caller);
  await processWithPid(caller.pid);
  await release('go-reused');
  await ended(caller.session);
  await bed.runtime.exec('host', { cmd: ['true'] });
  expect(sessions()).not.toContain(caller.session);
});

test('the sessions of detached execs that ended with the last run are gone after the next start', async () => {
  await bed.runtime.create('restarted', { rootfs: await bed.rootfs(), image: { Cmd: ['sleep', '1000'] } });
  await bed.runtime.start('restarted');
  const session = await detachedExec(['sleep', '1005'], 'restarted');
  await bed.runtime.stop('restarted', { timeout: 0 });
  await ended(session, 'restarted');
  await bed.runtime.start('restarted');
  expect(sessions('restarted')).not.toContain(session);
});
