/**
 * The container listing's filters and columns as dockerd's (daemon/list.go): creation-order
 * windows, volume/network/port filters, refused values, legacy links' names, a container whose
 * start failed, and the image column of a container whose image reference moved on.
 */
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;

beforeAll(async () => {
  t = await testEngine();
}, 120_000);

afterAll(async () => {
  await t?.cleanup();
});

/** IDs listed (all states) with these filters. */
async function listed(filters: Record<string, string[]>): Promise<string[]> {
  return (await t.engine.ps({ all: true, filters })).map((c) => c.Id);
}

describe('before= and since=', () => {
  let ids: string[];

  beforeAll(async () => {
    ids = [];
    for (const name of ['order-1', 'order-2', 'order-3']) ids.push((await t.engine.create({ image: 'busybox', name, network: 'none', pull: 'never' })).id);
  });

  afterAll(async () => {
    for (const id of ids) await t.engine.remove(id, { force: true });
  });

  test('before= lists the containers created before the named one, without it', async () => {
    expect(await listed({ before: ['order-2'] })).toEqual([ids[0]]);
  });

  test('since= lists the containers created after the named one, without it', async () => {
    expect(await listed({ since: ['order-2'] })).toEqual([ids[2]]);
  });

  test('before= and since= take an ID prefix too', async () => {
    expect(await listed({ since: [(ids[0] as string).slice(0, 12)], before: [(ids[2] as string).slice(0, 12)] })).toEqual([ids[1]]);
  });

  test('before= an unknown container is refused as not found', async () => {
    await expect(t.engine.ps({ filters: { before: ['nosuch'] } })).rejects.toMatchObject({ code: 'NotFound', message: 'No such container: nosuch' });
  });
});

describe('id=', () => {
  test("matches an ID prefix, or a regular expression found in the ID, as dockerd's Match", async () => {
    const { id } = await t.engine.create({ image: 'busybox', network: 'none', pull: 'never' });
    expect(await listed({ id: [id.slice(0, 12)] })).toEqual([id]);
    expect(await listed({ id: [id.slice(20, 40)] })).toEqual([id]);
    expect(await listed({ id: [`^${id.slice(0, 8)}.*${id.slice(-4)}$`] })).toEqual([id]);
    expect(await listed({ id: [`^${id.slice(1, 9)}`] })).toEqual([]);
    await t.engine.remove(id);
  });
});

describe('volume=', () => {
  let id: string;

  beforeAll(async () => {
    ({ id } = await t.engine.create({ image: 'busybox', volumes: ['ps-vol:/data', `${t.root}:/host:ro`], network: 'none', pull: 'never' }));
  });

  afterAll(async () => {
    await t.engine.remove(id, { force: true });
    await t.engine.removeVolume('ps-vol');
  });

  test('matches a volume by name', async () => {
    expect(await listed({ volume: ['ps-vol'] })).toEqual([id]);
  });

  test('matches a mount by its destination', async () => {
    expect(await listed({ volume: ['/data'] })).toEqual([id]);
  });

  test('matches a bind by its source', async () => {
    expect(await listed({ volume: [t.root] })).toEqual([id]);
  });

  test('leaves out a container without the volume', async () => {
    expect(await listed({ volume: ['other-vol'] })).toEqual([]);
  });
});

describe('network=', () => {
  let onNone: string;
  let onHost: string;

  beforeAll(async () => {
    onNone = (await t.engine.create({ image: 'busybox', network: 'none', pull: 'never' })).id;
    onHost = (await t.engine.create({ image: 'busybox', network: 'host', pull: 'never' })).id;
  });

  afterAll(async () => {
    await t.engine.remove(onNone, { force: true });
    await t.engine.remove(onHost, { force: true });
  });

  test('matches the network by name', async () => {
    expect(await listed({ network: ['none'] })).toEqual([onNone]);
  });

  test('matches the network by ID prefix', async () => {
    const host = await t.engine.inspectNetwork('host');
    expect(await listed({ network: [host.Id.slice(0, 6)] })).toEqual([onHost]);
  });

  test('takes any of several networks', async () => {
    expect((await listed({ network: ['none', 'host'] })).sort()).toEqual([onNone, onHost].sort());
  });
});

describe('publish= and expose=', () => {
  let id: string;
  /** The host port Docker picked for the container's 80/tcp. */
  let hostPort: number;
  let created: string;

  beforeAll(async () => {
    ({ id } = await t.engine.run({ image: 'busybox', cmd: ['sleep', '300'], publish: ['127.0.0.1::80'], expose: ['8000-8001/udp'], detach: true, pull: 'never' }));
    const [summary] = await t.engine.ps({ filters: { id: [id] } });
    hostPort = summary?.Ports.find((p) => p.PrivatePort === 80)?.PublicPort ?? 0;
    ({ id: created } = await t.engine.create({ image: 'busybox', publish: ['127.0.0.1::80'], expose: ['8000-8001/udp'], pull: 'never' }));
  }, 60_000);

  afterAll(async () => {
    await t.engine.remove(id, { force: true });
    await t.engine.remove(created, { force: true });
  });

  test('publish= matches the host port a container port is published on, tcp when no protocol is given', async () => {
    expect(hostPort).toBeGreaterThan(0);
    expect(await listed({ publish: [String(hostPort)] })).toEqual([id]);
  });

  test('publish= of the container port (not the host port) leaves the container out', async () => {
    expect(await listed({ publish: ['80'] })).toEqual([]);
  });

  test('publish= takes a range of host ports', async () => {
    expect(await listed({ publish: [`${hostPort - 1}-${hostPort}/tcp`] })).toEqual([id]);
  });

  test('publish= with another protocol leaves the container out', async () => {
    expect(await listed({ publish: [`${hostPort}/udp`] })).toEqual([]);
  });

  test('expose= matches a container port, published or not', async () => {
    expect(await listed({ expose: ['80'] })).toEqual([id]);
    expect(await listed({ expose: ['7990-8000/udp'] })).toEqual([id]);
  });

  test('expose= of a port the container does not expose leaves it out', async () => {
    expect(await listed({ expose: ['81'] })).toEqual([]);
  });

  test('publish= and expose= together keep a container that either one matches', async () => {
    expect(await listed({ publish: ['1'], expose: ['80'] })).toEqual([id]);
  });

  test('a container that does not run matches neither: its Ports are empty', async () => {
    expect(await listed({ expose: ['80'], publish: [String(hostPort)] })).not.toContain(created);
  });

  test('a port filter with a colon is refused', async () => {
    await expect(t.engine.ps({ filters: { publish: ['8080:80'] } })).rejects.toMatchObject({ code: 'InvalidArgument', message: "filter for 'publish' should not contain ':': 8080:80" });
  });

  test('a port filter that is not a port is refused in go-connections words', async () => {
    await expect(t.engine.ps({ filters: { expose: ['http'] } })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: 'error while looking up for expose http: strconv.ParseUint: parsing "http": invalid syntax',
    });
  });
});

describe('legacy link names', () => {
  const made: string[] = [];

  beforeAll(async () => {
    for (const [name, links] of [['lnk-aaa', []], ['lnk-bbb', ['lnk-aaa']], ['lnk-ccc', ['lnk-aaa:al']]] as const) {
      made.push((await t.engine.run({ image: 'busybox', name, cmd: ['sleep', '300'], network: 'bridge', links: [...links], detach: true, pull: 'never' })).id);
    }
  }, 60_000);

  afterAll(async () => {
    for (const id of made) await t.engine.remove(id, { force: true });
  });

  test("a linked container's Names has its own name first, then /<parent>/<alias> of each link to it", async () => {
    const [summary] = await t.engine.ps({ filters: { id: [made[0] as string] } });
    expect(summary?.Names).toEqual(['/lnk-aaa', '/lnk-bbb/lnk-aaa', '/lnk-ccc/al']);
  });

  test('the linking containers have their own name alone', async () => {
    const [summary] = await t.engine.ps({ filters: { id: [made[1] as string] } });
    expect(summary?.Names).toEqual(['/lnk-bbb']);
  });

  test("name= matches the container's own name, not a link name it carries", async () => {
    expect(await listed({ name: ['lnk-bbb'] })).toEqual([made[1]]);
  });

  test('the link names go with the linking container', async () => {
    const names = async (): Promise<string[] | undefined> => (await t.engine.ps({ filters: { id: [made[0] as string] } }))[0]?.Names;
    const { id } = await t.engine.run({ image: 'busybox', name: 'lnk-gone', cmd: ['sleep', '300'], network: 'bridge', links: ['lnk-aaa:gone'], detach: true, pull: 'never' });
    expect(await names()).toContain('/lnk-gone/gone');
    await t.engine.remove(id, { force: true });
    expect(await names()).toEqual(['/lnk-aaa', '/lnk-bbb/lnk-aaa', '/lnk-ccc/al']);
  }, 60_000);
});

describe('refused filter values', () => {
  test('status= an unknown state', async () => {
    await expect(t.engine.ps({ filters: { status: ['bogus'] } })).rejects.toMatchObject({ code: 'InvalidArgument', message: "invalid filter 'status=bogus'" });
  });

  test('health= an unknown health status', async () => {
    await expect(t.engine.ps({ filters: { health: ['bogus'] } })).rejects.toMatchObject({ code: 'InvalidArgument', message: 'Unrecognised filter value for health: bogus' });
  });

  test('is-task= neither true nor false', async () => {
    await expect(t.engine.ps({ filters: { 'is-task': ['maybe'] } })).rejects.toMatchObject({ code: 'InvalidArgument', message: "invalid filter 'is-task=[maybe]'" });
  });

  test('exited= not a number', async () => {
    await expect(t.engine.ps({ filters: { exited: ['x'] } })).rejects.toMatchObject({ code: 'InvalidArgument', message: 'strconv.Atoi: parsing "x": invalid syntax' });
  });
});

describe('is-task=', () => {
  let id: string;

  beforeAll(async () => {
    ({ id } = await t.engine.create({ image: 'busybox', network: 'none', pull: 'never' }));
  });

  afterAll(async () => {
    await t.engine.remove(id, { force: true });
  });

  test('true lists nothing: no container is a swarm task', async () => {
    expect(await listed({ 'is-task': ['true'] })).toEqual([]);
  });

  test('false lists every container', async () => {
    expect(await listed({ 'is-task': ['false'] })).toContain(id);
  });
});

describe('a container whose start failed', () => {
  let id: string;

  beforeAll(async () => {
    const made: string[] = [];
    await expect(
      t.engine.run({ image: 'busybox', name: 'never-started', cmd: ['/nonexistent'], network: 'none', detach: true, pull: 'never', onCreated: (c) => made.push(c.id) }),
    ).rejects.toMatchObject({ details: { exitCode: 127 } });
    id = made[0] as string;
  }, 60_000);

  afterAll(async () => {
    await t.engine.remove(id, { force: true });
  });

  test('is listed as created', async () => {
    const [summary] = await t.engine.ps({ all: true, filters: { id: [id] } });
    expect(summary).toMatchObject({ State: 'created', Status: 'Created' });
  });

  test('is inspected as created, with the exit code and error of its start', async () => {
    const { State } = await t.engine.inspect(id);
    expect(State).toMatchObject({ Status: 'created', Running: false, ExitCode: 127, StartedAt: '0001-01-01T00:00:00Z' });
    expect(State.Error).not.toBe('');
  });

  test('matches status=created, not status=exited', async () => {
    expect(await listed({ status: ['created'], id: [id] })).toEqual([id]);
    expect(await listed({ status: ['exited'], id: [id] })).toEqual([]);
  });

  test('does not match exited= its exit code: it never ran', async () => {
    expect(await listed({ exited: ['127'], id: [id] })).toEqual([]);
  });
});

describe('the image column', () => {
  test('shows the reference the container was made with while it names the image', async () => {
    await t.engine.tag('busybox', 'ps-kept:1');
    const { id } = await t.engine.create({ image: 'ps-kept:1', network: 'none', pull: 'never' });
    const [summary] = await t.engine.ps({ all: true, filters: { id: [id] } });
    expect(summary?.Image).toBe('ps-kept:1');
    await t.engine.remove(id);
    await t.engine.removeImage('ps-kept:1');
  });

  test('shows the image ID once the reference is untagged', async () => {
    await t.engine.tag('busybox', 'ps-untagged:1');
    const { id } = await t.engine.create({ image: 'ps-untagged:1', network: 'none', pull: 'never' });
    await t.engine.removeImage('ps-untagged:1', { force: true });
    const [summary] = await t.engine.ps({ all: true, filters: { id: [id] } });
    expect(summary?.Image).toBe(summary?.ImageID);
    expect(summary?.Image).toMatch(/^sha256:[0-9a-f]{64}$/);
    await t.engine.remove(id);
  });

  test('shows the image ID once the tag names another image', async () => {
    await t.engine.tag('busybox', 'ps-moved:1');
    const { id } = await t.engine.create({ image: 'ps-moved:1', network: 'none', pull: 'never' });
    const other = await t.engine.commit(id, { changes: ['LABEL moved=yes'] });
    await t.engine.tag(other.id, 'ps-moved:1');
    const [summary] = await t.engine.ps({ all: true, filters: { id: [id] } });
    expect(summary?.Image).toBe((await t.engine.inspectImage('busybox')).Id);
    await t.engine.remove(id);
    await t.engine.removeImage('ps-moved:1');
  });
});
