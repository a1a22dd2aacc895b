import { promises as fs } from 'node:fs';
import { collector, testEngine, type TestEngine } from './fixture';

let t: TestEngine;

beforeAll(async () => {
  t = await testEngine();
});

afterAll(async () => {
  await t.cleanup();
});

// About 260 KiB of output: 2,000 numbered lines of 100 bytes.
const CHATTY = ['sh', '-c', 'i=0; while [ $i -lt 2000 ]; do printf "%04d %095d\\n" $i 0; i=$((i+1)); done'];

test('--log-opt max-size keeps the log under the size, with the newest lines', async () => {
  const { id } = await t.engine.run({ image: 'busybox', cmd: CHATTY, network: 'none', log: { options: { 'max-size': '64k' } } });
  const info = await t.engine.inspect(id);
  expect(info.HostConfig.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-size': '64k' } });
  expect((await fs.stat(info.LogPath)).size).toBeLessThanOrEqual(64 * 1024);
  const lines: string[] = [];
  for await (const entry of t.engine.logs(id)) lines.push(entry.line);
  expect(lines.length).toBeLessThan(2000);
  expect(lines[lines.length - 1]?.slice(0, 4)).toBe('1999');
});

test('a container without log options reports json-file with no options', async () => {
  const { id } = await t.engine.create({ image: 'busybox', cmd: ['true'], network: 'none' });
  expect((await t.engine.inspect(id)).HostConfig.LogConfig).toEqual({ Type: 'json-file', Config: {} });
});

test("an unknown log option is InvalidArgument in Docker's words, and no container is made", async () => {
  const before = (await t.engine.ps({ all: true })).length;
  await expect(t.engine.create({ image: 'busybox', network: 'none', log: { options: { 'max-age': '1d' } } })).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: "unknown log opt 'max-age' for json-file log driver",
  });
  expect(await t.engine.ps({ all: true })).toHaveLength(before);
});

test("a logging driver neither ctr nor a plugin has is refused in dockerd's words", async () => {
  await expect(t.engine.create({ image: 'busybox', network: 'none', log: { driver: 'splunk' } })).rejects.toMatchObject({ code: 'InvalidArgument', message: "logger: no log driver named 'splunk' is registered" });
});

test('max-file above 1 is accepted without a warning: the log rotates across that many files', async () => {
  const { warnings } = await t.engine.create({ image: 'busybox', network: 'none', log: { options: { 'max-size': '1m', 'max-file': '3' } } });
  expect(warnings).toEqual([]);
});

test('--log-driver none keeps no log: the output reaches the attached caller only, and logs is Unsupported in moby\'s words', async () => {
  const stdout = collector();
  const { id } = await t.engine.run({ image: 'busybox', cmd: ['echo', 'seen once'], network: 'none', stdout, log: { driver: 'none', options: { 'max-size': '1k' } } });
  expect(stdout.text()).toBe('seen once\n');
  const info = await t.engine.inspect(id);
  expect(info.HostConfig.LogConfig).toEqual({ Type: 'none', Config: { 'max-size': '1k' } });
  expect(info.LogPath).toBe('');
  const read = async (): Promise<void> => {
    for await (const entry of t.engine.logs(id)) void entry;
  };
  await expect(read()).rejects.toMatchObject({ code: 'Unsupported', message: 'configured logging driver does not support reading' });
});
