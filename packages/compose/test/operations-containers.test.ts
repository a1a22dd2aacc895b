/**
 * compose's per-container operations on a real engine: `logs` (merged, tail, timestamps,
 * index, follow ending with the containers), `exec` (exit code, replica, compose's errors),
 * `top` and `port`. The containers are made as compose makes them: busybox, with its labels.
 */
import { collector, testEngine, type TestEngine } from '../../engine/test/fixture';
import type { ComposeLogLine } from '../src/compose';
import { LABEL } from '../src/labels';
import { exec, logs, port, top } from '../src/operations';
import { project, service } from './lifecycle-project';

let t: TestEngine;

beforeAll(async () => {
  t = await testEngine();
});

afterAll(async () => {
  await t?.cleanup();
});

/** A container of `service` in `projectName`, replica `number`, as compose labels it; not started. */
async function composeContainer(projectName: string, serviceName: string, number: number, options: { cmd: string[]; publish?: string[]; oneoff?: boolean }): Promise<string> {
  const oneoff = options.oneoff === true;
  const created = await t.engine.create({
    image: 'busybox',
    name: oneoff ? `${projectName}-${serviceName}-run-${number}` : `${projectName}-${serviceName}-${number}`,
    cmd: options.cmd,
    labels: { [LABEL.project]: projectName, [LABEL.service]: serviceName, [LABEL.containerNumber]: String(number), [LABEL.oneoff]: oneoff ? 'True' : 'False' },
    ...(options.publish ? { publish: options.publish } : {}),
    pull: 'never',
  });
  return created.id;
}

async function runToExit(id: string): Promise<void> {
  await t.engine.start(id);
  await t.engine.wait(id);
}

async function all(lines: AsyncIterable<ComposeLogLine>): Promise<ComposeLogLine[]> {
  const seen: ComposeLogLine[] = [];
  for await (const line of lines) seen.push(line);
  return seen;
}

const SLEEP = ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'];

describe('logs', () => {
  const p = project('lg', [service('web', { image: 'busybox' }), service('db', { image: 'busybox' })]);
  let web: string;

  beforeAll(async () => {
    web = await composeContainer('lg', 'web', 1, { cmd: ['sh', '-c', 'echo web says; echo web errs >&2'] });
    const db = await composeContainer('lg', 'db', 1, { cmd: ['echo', 'db says'] });
    // web, then db, then web again: the merged log shows them in that order.
    await runToExit(web);
    await runToExit(db);
    await runToExit(web);
  });

  test('merges the services\' containers\' lines oldest first, each with its service, container and stream', async () => {
    const lines = await all(logs(t.engine, p, {}));
    expect(lines.map((l) => `${l.container} ${l.stream} ${l.line}`)).toEqual([
      'lg-web-1 stdout web says',
      'lg-web-1 stderr web errs',
      'lg-db-1 stdout db says',
      'lg-web-1 stdout web says',
      'lg-web-1 stderr web errs',
    ]);
    expect(lines[2]).toMatchObject({ service: 'db' });
    expect(lines[0]!.timestamp).toBeUndefined();
  });

  test('tail takes the last lines of each container', async () => {
    const lines = await all(logs(t.engine, p, { tail: 1 }));
    expect(lines.map((l) => `${l.container} ${l.line}`)).toEqual(['lg-db-1 db says', 'lg-web-1 web errs']);
  });

  test('only the named services, and timestamps when asked', async () => {
    const lines = await all(logs(t.engine, p, { services: ['db'], timestamps: true }));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  });

  test('an unknown service is compose\'s error', async () => {
    await expect(all(logs(t.engine, p, { services: ['nope'] }))).rejects.toThrow('no such service: nope');
  });

  test('index picks one replica; a missing one is compose\'s error', async () => {
    await expect(all(logs(t.engine, p, { services: ['web'], index: 2 }))).rejects.toThrow('service "web" is not running container #2');
    expect((await all(logs(t.engine, p, { services: ['web'], index: 1 }))).every((l) => l.container === 'lg-web-1')).toBe(true);
  });
});

describe('logs --follow', () => {
  test('interleaves the live lines and ends once every followed container has stopped', async () => {
    const p = project('lf', [service('web', { image: 'busybox' })]);
    const ids = [
      await composeContainer('lf', 'web', 1, { cmd: ['sh', '-c', 'echo one ready; trap "exit 0" TERM; while true; do sleep 1; done'] }),
      await composeContainer('lf', 'web', 2, { cmd: ['sh', '-c', 'echo two ready; trap "exit 0" TERM; while true; do sleep 1; done'] }),
    ];
    for (const id of ids) await t.engine.start(id);
    const seen: string[] = [];
    for await (const line of logs(t.engine, p, { follow: true })) {
      seen.push(line.line);
      // Once both have spoken, stop them: the follow must end by itself.
      if (seen.length === 2) for (const id of ids) await t.engine.stop(id, { timeout: 5 });
    }
    expect(seen.sort()).toEqual(['one ready', 'two ready']);
  });

  test('ends early without error when its signal aborts', async () => {
    const p = project('la', [service('web', { image: 'busybox' })]);
    const id = await composeContainer('la', 'web', 1, { cmd: ['sh', '-c', 'echo up; trap "exit 0" TERM; while true; do sleep 1; done'] });
    await t.engine.start(id);
    const controller = new AbortController();
    const seen: string[] = [];
    for await (const line of logs(t.engine, p, { follow: true, signal: controller.signal })) {
      seen.push(line.line);
      controller.abort();
    }
    expect(seen).toEqual(['up']);
    await t.engine.stop(id, { timeout: 5 });
  });
});

describe('exec, top and port', () => {
  const p = project('ex', [service('web', { image: 'busybox' }), service('db', { image: 'busybox' })]);
  const ids: string[] = [];

  beforeAll(async () => {
    ids.push(await composeContainer('ex', 'web', 1, { cmd: SLEEP, publish: ['127.0.0.1::80', '127.0.0.1::53/udp'] }));
    ids.push(await composeContainer('ex', 'web', 2, { cmd: SLEEP }));
    await composeContainer('ex', 'db', 1, { cmd: SLEEP });
    for (const id of ids) await t.engine.start(id);
  });

  test('exec runs the command in the first replica and returns its exit code', async () => {
    const stdout = collector();
    expect(await exec(t.engine, p, 'web', { command: ['sh', '-c', 'hostname; exit 3'], stdout })).toBe(3);
    expect(stdout.text().trim()).toBe(ids[0]!.slice(0, 12));
  });

  test('exec --index runs in that replica, with its user, workdir and environment', async () => {
    const stdout = collector();
    const code = await exec(t.engine, p, 'web', { index: 2, command: ['sh', '-c', 'echo $(hostname) $(id -u) $(pwd) $GREETING'], user: '1000', workdir: '/tmp', env: ['GREETING=hi'], stdout });
    expect(code).toBe(0);
    expect(stdout.text().trim()).toBe(`${ids[1]!.slice(0, 12)} 1000 /tmp hi`);
  });

  test('exec in a service with no running container is compose\'s error', async () => {
    await expect(exec(t.engine, p, 'db', { command: ['true'] })).rejects.toThrow('service "db" is not running');
    await expect(exec(t.engine, p, 'web', { index: 5, command: ['true'] })).rejects.toThrow('service "web" is not running container #5');
    await expect(exec(t.engine, p, 'nope', { command: ['true'] })).rejects.toThrow('no such service: nope');
  });

  test('top lists the processes of each running container, by name', async () => {
    const rows = await top(t.engine, p, {});
    expect(rows.map((r) => r.container)).toEqual(['ex-web-1', 'ex-web-2']);
    expect(rows[0]!.titles).toContain('PID');
    expect(rows[0]!.processes.some((process) => process.join(' ').includes('sleep') || process.join(' ').includes('sh -c'))).toBe(true);
  });

  test('port gives the host address of a published port, tcp unless told', async () => {
    const inspect = await t.engine.inspect(ids[0]!);
    const tcp = inspect.NetworkSettings.Ports['80/tcp']?.[0]?.HostPort;
    const udp = inspect.NetworkSettings.Ports['53/udp']?.[0]?.HostPort;
    expect(await port(t.engine, p, 'web', 80, {})).toBe(`127.0.0.1:${tcp}`);
    expect(await port(t.engine, p, 'web', 53, { protocol: 'udp' })).toBe(`127.0.0.1:${udp}`);
  });

  test('port of a port not published is compose\'s error', async () => {
    await expect(port(t.engine, p, 'web', 81, {})).rejects.toThrow(/^no port 81\/tcp for container ex-web-1: \d+\/tcp, \d+\/udp$/);
    await expect(port(t.engine, p, 'web', 80, { index: 2 })).rejects.toThrow('no port 80/tcp for container ex-web-2: ');
  });
});
