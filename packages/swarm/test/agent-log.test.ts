import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { testNodes, until, type TestNode, type TestNodes } from './support/nodes';

/**
 * ctrd's log of the node agent it runs (a worker's session with its manager), at the daemon's
 * default level (info): the session's changes of state, each once, as dockerd's agent logs them
 * (`level=error msg="agent: session failed" error=… module=node/agent node.id=…`), not each retry.
 */
describe("ctrd's log of a worker's session with its manager", () => {
  let t: TestNodes;
  let manager: TestNode;
  let worker: TestNode;
  let daemon: ChildProcess;
  let workerId: string;
  /** ctrd's stderr, line by line. */
  const lines: string[] = [];

  const said = (message: string): string[] => lines.filter((line) => line.includes(` msg="${message}"`));

  jest.setTimeout(180_000);

  beforeAll(async () => {
    t = await testNodes(2);
    [manager, worker] = t.nodes as [TestNode, TestNode];
    [, workerId] = (await t.formSwarm()) as [string, string];
    // ctrd takes the worker's agent over: the detached one `join` started goes first.
    await t.killAgent(worker);
    daemon = t.spawn(worker, ['daemon', '-H', `unix://${join(worker.runRoot, 'ctrd.sock')}`]);
    let partial = '';
    daemon.stderr?.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const complete = text.split('\n');
      partial = complete.pop() ?? '';
      lines.push(...complete);
    });
    if (!(await until(() => said('agent: session established').length === 1, 60_000))) throw new Error(`ctrd's agent never reached the manager:\n${lines.join('\n')}`);
  }, 180_000);

  afterAll(async () => {
    daemon?.kill('SIGTERM');
    await t?.cleanup();
  }, 180_000);

  test('the session established is one info line with the manager and the node', () => {
    expect(said('agent: session established')).toEqual([
      expect.stringMatching(new RegExp(`^time="[^"]+" level=info msg="agent: session established" manager="${manager.addr.replace(/\./g, '\\.')}:2377" module=node/agent node\\.id=${workerId}$`)),
    ]);
  });

  test('a manager gone is one error line however often the agent retries, its return one info line', async () => {
    const before = lines.length;
    await t.killAgent(manager);
    expect(await until(() => said('agent: session failed').length > 0, 60_000)).toBe(true);
    // The agent retries after 1, 2 and 4 seconds meanwhile: none of those adds a line at this level.
    await delay(8_000);
    await t.ok(manager, ['node', 'ls']);
    expect(await until(() => said('agent: session established').length === 2, 90_000)).toBe(true);
    const since = lines.slice(before).filter((line) => line.includes('module=node/agent'));
    expect(since).toEqual([
      expect.stringMatching(/^time="[^"]+" level=error msg="agent: session failed" backoff=1000ms error=".+" manager=\S+ module=node\/agent node\.id=\S+$/),
      expect.stringMatching(/^time="[^"]+" level=info msg="agent: session established" failures=\d+ manager=\S+ module=node\/agent node\.id=\S+$/),
    ]);
  });

  test('nothing below the default level is written', () => {
    expect(lines.filter((line) => line.includes(' level=debug '))).toEqual([]);
  });

  test("the detached agent `join` started wrote its agent.log as ctrd writes its log, dockerd's time first", () => {
    const agentLog = readFileSync(join(worker.runRoot, 'swarm', 'agent.log'), 'utf8').split('\n');
    const time = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d)`;
    const established = agentLog.filter((line) => line.includes('msg="agent: session established"'));
    expect(established.length).toBeGreaterThan(0);
    for (const line of established) expect(line).toMatch(new RegExp(`^time="${time}" level=info msg="agent: session established" manager=\\S+ module=node/agent node\\.id=${workerId}$`));
  });
});
