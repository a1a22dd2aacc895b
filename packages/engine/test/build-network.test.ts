import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatEvent } from '@ctr/dockerfile';
import { NetworkManager } from '@ctr/network';
import { collector, testEngine, type TestEngine } from './fixture';

const run = promisify(execFile);

describe("engine.build's RUN networking: docker's --network for every step's container", () => {
  let t: TestEngine;
  let context: string;
  const network = `buildnet-${process.pid}`;
  beforeAll(async () => {
    t = await testEngine();
    context = await mkdtemp(join(tmpdir(), 'ctr-build-network-'));
    await t.engine.createNetwork({ name: network });
  });
  afterAll(async () => {
    await rm(context, { recursive: true, force: true });
    await t?.engine.removeNetwork(network).catch(() => undefined);
    await t?.cleanup();
  });

  /** Build a Dockerfile whose RUN step writes what it sees to /seen; the text of that file and the build's output. */
  async function seenBy(script: string, network?: string): Promise<{ seen: string; output: string }> {
    await writeFile(join(context, 'Dockerfile'), `FROM busybox\nRUN { ${script}; } > /seen\n`);
    let output = '';
    const { id } = await t.engine.build({ context, noCache: true, ...(network ? { network } : {}), onEvent: (e) => (output += formatEvent(e)) });
    const stdout = collector();
    await t.engine.run({ image: id, cmd: ['cat', '/seen'], network: 'none', autoRemove: true, stdout });
    return { seen: stdout.text(), output };
  }

  /** An HTTP server on a bridge's gateway address: what a step on that bridge can reach, and nothing else. */
  async function serveOn(address: string): Promise<{ server: Server; url: string }> {
    const server = createServer((_req, res) => res.end('hello from the gateway\n'));
    await new Promise<void>((resolve) => server.listen(0, address, resolve));
    return { server, url: `http://${address}:${(server.address() as AddressInfo).port}/` };
  }

  test('by default a step is on the default bridge, with an address there and its short ID as hostname', async () => {
    const gateway = await new NetworkManager({ root: t.root, runRoot: t.runRoot }).defaultGateway();
    const { server, url } = await serveOn(gateway);
    try {
      const { seen, output } = await seenBy(`hostname; wget -qO- ${url}`);
      const [name, body] = seen.split('\n');
      expect(output).toContain(` ---> Running in ${name}\n`);
      expect(name).toMatch(/^[0-9a-f]{12}$/);
      expect(body).toBe('hello from the gateway');
    } finally {
      server.close();
    }
  });

  test('a user network by name: the step reaches that bridge', async () => {
    const gateway = (await t.engine.inspectNetwork(network)).IPAM.Config[0]!.Gateway;
    const { server, url } = await serveOn(gateway);
    try {
      expect((await seenBy(`wget -qO- ${url}`, network)).seen).toBe('hello from the gateway\n');
    } finally {
      server.close();
    }
  });

  test('none: the step has only its loopback', async () => {
    expect((await seenBy("ip -o link | awk -F': ' '{print $2}'", 'none')).seen).toBe('lo\n');
  });

  test("host: the step is in the host's network (its hostname is the host's)", async () => {
    expect((await seenBy('hostname', 'host')).seen).toBe(`${hostname()}\n`);
  });

  test("each step's network is taken down with its container: no namespace, sandbox, lease or veth is left", async () => {
    const { output } = await seenBy('true');
    const ids = [...output.matchAll(/ ---> Running in ([0-9a-f]{12})/g)].map((m) => m[1]!);
    expect(ids).toHaveLength(1);
    expect(await readdir(join(t.runRoot, 'netns')).catch(() => [])).toEqual([]);
    expect(await readdir(join(t.root, 'networks', 'sandboxes'))).toEqual([]);
    expect((await t.engine.inspectNetwork('bridge')).Containers).toEqual({});
    const { stdout: links } = await run('ip', ['-o', 'link', 'show']);
    expect(links).not.toContain(`ep:build-${ids[0]}`);
  });

  test('a network that does not exist fails the first step that runs, as docker says it', async () => {
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nRUN echo never-cached-before > /x\n');
    await expect(t.engine.build({ context, network: 'no-such-network' })).rejects.toMatchObject({ code: 'NotFound', message: 'network no-such-network not found' });
  });

  test('a cached step needs no network: a rebuild names one that does not exist and still uses the cache', async () => {
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nRUN echo cached > /x\n');
    const first = await t.engine.build({ context });
    expect((await t.engine.build({ context, network: 'no-such-network' })).id).toBe(first.id);
  });

  test('another container\'s network is refused before anything runs', async () => {
    await expect(t.engine.build({ context, network: 'container:abc' })).rejects.toMatchObject({ code: 'InvalidArgument', message: 'network mode container:abc is not supported for builds' });
  });
});
