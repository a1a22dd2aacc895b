import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelHasBlkioWeight } from '../../../test/support/block-io';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';
import { cleanEnv, ctr as runCtr, startTestDaemon, type TestDaemon } from './remote-fixture';

const WEIGHT_DROPPED = 'Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.';

/** The same ctr commands without a daemon and with `-H` against ctrd: both must answer alike. */
interface Mode {
  run(...args: string[]): Promise<CtrResult>;
  cleanup(): Promise<void>;
}

async function local(): Promise<Mode> {
  const ctr: LocalCtr = await localCtr('sizes');
  return { run: (...args) => ctr.run(...args), cleanup: () => ctr.cleanup() };
}

async function remote(): Promise<Mode> {
  const daemon: TestDaemon = await startTestDaemon();
  const config = await mkdtemp(join(tmpdir(), 'ctr-sizes-config-'));
  return {
    run: (...args) => runCtr(['-H', `unix://${daemon.socket}`, ...args], { env: cleanEnv({ CTR_CONFIG: config }) }),
    async cleanup() {
      await daemon.cleanup();
      await rm(config, { recursive: true, force: true });
    },
  };
}

describe.each([
  ['without a daemon', local],
  ['with -H against ctrd', remote],
])('ctr %s', (_name, start) => {
  let mode: Mode;
  const ctr = (...args: string[]): Promise<CtrResult> => mode.run(...args);
  /** `ctr run` of busybox `sh -c script` to its end; its name. */
  const ran = async (name: string, script: string, ...flags: string[]): Promise<string> => {
    expect((await ctr('run', '--network', 'none', '--pull', 'never', '--name', name, ...flags, 'busybox', 'sh', '-c', script)).code).toBe(0);
    return name;
  };
  const imageSize = async (): Promise<string> => (await ctr('images', '--format', '{{.Size}}', 'busybox')).stdout.trim();

  beforeAll(async () => {
    mode = await start();
  });
  afterAll(async () => {
    await mode?.cleanup();
  });

  test("ps -s adds docker's SIZE column: the bytes written, and the virtual size with the image", async () => {
    await ran('twelve', 'printf 123456789012 > /twelve');
    const [header, row] = (await ctr('ps', '-a', '-s', '--filter', 'name=twelve')).stdout.split('\n');
    expect(header).toMatch(/ {3}NAMES {5}SIZE$/);
    expect(row).toMatch(new RegExp(`twelve +12B \\(virtual ${(await imageSize()).replace('.', '\\.')}\\)$`));
  });

  test('a --format showing .Size asks for sizes, unless --size=false', async () => {
    await ran('four', 'printf 1234 > /four');
    expect((await ctr('ps', '-a', '--filter', 'name=four', '--format', '{{.Names}} {{.Size}}')).stdout).toBe(`four 4B (virtual ${await imageSize()})\n`);
    expect((await ctr('ps', '-a', '--filter', 'name=four', '--format', '{{.Names}} {{.Size}}', '--size=false')).stdout).toBe('four 0B\n');
  });

  test('inspect -s adds SizeRw and SizeRootFs', async () => {
    await ran('five', 'printf 12345 > /five');
    expect((await ctr('inspect', '-s', '-f', '{{.SizeRw}}', 'five')).stdout).toBe('5\n');
    expect((await ctr('container', 'inspect', '--size', '-f', '{{.SizeRw}}', 'five')).stdout).toBe('5\n');
    expect((await ctr('inspect', '-f', '{{.SizeRw}}', 'five')).stdout).toBe('<no value>\n');
  });

  test('logs --details shows the attributes the log options ask for before each line', async () => {
    await ran('detailed', 'echo out; echo err >&2', '-l', 'app=web', '--log-opt', 'labels=app', '--log-opt', 'tag={{.Name}}');
    expect(await ctr('logs', '--details', 'detailed')).toEqual({ code: 0, stdout: 'app=web,tag=detailed out\n', stderr: 'app=web,tag=detailed err\n' });
  });

  test('logs --details without attribute options shows each line after a space', async () => {
    await ran('plain', 'echo plain');
    expect(await ctr('logs', '--details', 'plain')).toEqual({ code: 0, stdout: ' plain\n', stderr: '' });
  });

  test("update prints each container, then the daemon's warnings, as docker's client does", async () => {
    expect((await ctr('create', '--network', 'none', '--pull', 'never', '--name', 'weighted', 'busybox', 'sleep', '100')).code).toBe(0);
    expect(await ctr('update', '--blkio-weight', '300', 'weighted')).toEqual({
      code: 0,
      stdout: kernelHasBlkioWeight ? 'weighted\n' : `weighted\n${WEIGHT_DROPPED}\n`,
      stderr: '',
    });
  });
});
