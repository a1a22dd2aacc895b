import { logDetails, logLine, parseLogDetails, type ContainerLogEntry, type CreateContainerOptions } from '@ctr/engine';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
}, 60_000);
afterAll(async () => {
  await t.cleanup();
});

/** The log of a container that printed `hello` and exited, read with `details`. */
async function detailed(options: Partial<CreateContainerOptions> = {}): Promise<ContainerLogEntry[]> {
  const { id } = await t.engine.run({ image: 'busybox', cmd: ['echo', 'hello'], network: 'none', pull: 'never', ...options });
  const entries: ContainerLogEntry[] = [];
  for await (const entry of t.engine.logs(id, { details: true })) entries.push(entry);
  return entries;
}

test('without attribute options each line has no attributes, and is shown after a space as dockerd shows it', async () => {
  const [entry] = await detailed();
  expect(entry).toMatchObject({ stream: 'stdout', line: 'hello', attrs: {} });
  expect(logLine(entry as ContainerLogEntry, { details: true })).toBe(' hello');
});

test('the labels and environment variables the log options name are the attributes', async () => {
  const [entry] = await detailed({
    labels: { app: 'web', tier: 'front', other: 'no' },
    env: ['REGION=eu west', 'UNUSED=1'],
    log: { options: { labels: 'app,tier,missing', env: 'REGION' } },
  });
  expect(entry?.attrs).toEqual({ app: 'web', tier: 'front', REGION: 'eu west' });
});

test('labels-regex and env-regex take every label and variable whose name matches', async () => {
  const [entry] = await detailed({
    labels: { 'com.example.a': '1', 'com.example.b': '2', unrelated: '3' },
    env: ['SVC_NAME=api', 'SVC_PORT=80', 'HOME_DIR=/root'],
    log: { options: { 'labels-regex': '^com\\.example\\.', 'env-regex': '^SVC_' } },
  });
  expect(entry?.attrs).toEqual({ 'com.example.a': '1', 'com.example.b': '2', SVC_NAME: 'api', SVC_PORT: '80' });
});

test("a tag is rendered from the container's facts", async () => {
  const [entry] = await detailed({ name: 'tagged-one', log: { options: { tag: '{{.Name}}/{{.ImageName}}/{{.ID}}' } } });
  const id = (await t.engine.inspect('tagged-one')).Id;
  expect(entry?.attrs).toEqual({ tag: `tagged-one/busybox/${id.slice(0, 12)}` });
});

test('without details, lines carry no attributes', async () => {
  const { id } = await t.engine.run({ image: 'busybox', cmd: ['echo', 'plain'], network: 'none', pull: 'never', log: { options: { tag: 'x' } } });
  for await (const entry of t.engine.logs(id)) expect(entry).not.toHaveProperty('attrs');
});

test("the details prefix is dockerd's: keys sorted, values query-escaped, joined by commas", () => {
  const attrs = { zeta: 'last', alpha: 'a b', 'k/ey': "x=y,z&(ok)'" };
  expect(logDetails(attrs)).toBe("alpha=a+b,k%2Fey=x%3Dy%2Cz%26%28ok%29%27,zeta=last");
  expect(parseLogDetails(logDetails(attrs))).toEqual(attrs);
  expect(logLine({ time: '2024-01-02T03:04:05.000000006Z', line: 'text', attrs }, { timestamps: true, details: true })).toBe(
    '2024-01-02T03:04:05.000000006Z alpha=a+b,k%2Fey=x%3Dy%2Cz%26%28ok%29%27,zeta=last text',
  );
});

test('a labels-regex that is not a regular expression is refused at create, and no container is made', async () => {
  const before = (await t.engine.ps({ all: true })).length;
  await expect(t.engine.create({ image: 'busybox', network: 'none', log: { options: { 'labels-regex': '(' } } })).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: expect.stringContaining('invalid labels-regex log option "("'),
  });
  expect(await t.engine.ps({ all: true })).toHaveLength(before);
});

test('a tag naming a field containers do not have is refused at create', async () => {
  await expect(t.engine.create({ image: 'busybox', network: 'none', log: { options: { tag: '{{.Nope}}' } } })).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: 'invalid log tag template "{{.Nope}}": {{.Nope}} is not a field of the container',
  });
});

test("the local driver takes no attribute options, in dockerd's words", async () => {
  await expect(t.engine.create({ image: 'busybox', network: 'none', log: { driver: 'local', options: { labels: 'app' } } })).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: "unknown log opt 'labels' for local log driver",
  });
});
