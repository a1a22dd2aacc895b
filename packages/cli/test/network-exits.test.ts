import { reserveTestBlock, type TestBlock } from '../../../test/support/test-subnets';
import { eventually, localCtr, type LocalCtr } from './local-ctr';

/**
 * Without a daemon, a container's network is released at its exit by conmon's exit command
 * (`ctr container cleanup`): its address is free for another container, and the network
 * lists it no more.
 */
let local: LocalCtr;
const ctr = (...args: string[]): ReturnType<LocalCtr['run']> => local.run(...args);
const network = `exits-${process.pid}`;
let ip = '';
let block: TestBlock;

beforeAll(async () => {
  local = await localCtr('netexits');
  // An --ip needs a subnet given at create.
  block = reserveTestBlock();
  const subnet = block.subnet(0);
  expect((await ctr('network', 'create', '--subnet', subnet, network)).code).toBe(0);
  ip = subnet.replace(/\.\d+\/\d+$/, '.70');
});

afterAll(async () => {
  const { stdout } = await ctr('ps', '-aq', '--no-trunc');
  for (const id of stdout.split('\n').filter(Boolean)) await ctr('rm', '-f', id);
  await ctr('network', 'rm', network);
  await local.cleanup();
  block?.release();
});

test('a detached container that exits frees its --ip and leaves the network', async () => {
  expect((await ctr('run', '-d', '--name', 'brief', '--network', network, '--ip', ip, 'busybox', 'sh', '-c', 'sleep 0.3')).code).toBe(0);
  const left = async (): Promise<boolean> => (await ctr('network', 'inspect', '--format', '{{len .Containers}}', network)).stdout.trim() === '0';
  expect(await eventually(left)).toBe(true);
  const next = await ctr('run', '-d', '--name', 'next', '--network', network, '--ip', ip, 'busybox', 'sleep', '60');
  expect(next.code).toBe(0);
  expect((await ctr('inspect', '--format', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, 'next')).stdout.trim()).toBe(ip);
});
