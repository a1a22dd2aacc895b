import { execFileSync } from 'node:child_process';
import { Collector, testBed, type TestBed } from './helpers';
import type { RunOptions } from '@ctr/runtime';

const netns = `ctr-rt-${process.pid}`;
let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
  execFileSync('ip', ['netns', 'add', netns]);
  execFileSync('ip', ['-n', netns, 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1']);
});
afterAll(async () => {
  await bed.cleanup();
  execFileSync('ip', ['netns', 'delete', netns]);
});

let n = 0;
async function interfaces(options: RunOptions): Promise<string[]> {
  const id = `net${n++}`;
  const stdout = new Collector();
  await bed.runtime.create(id, { rootfs: await bed.rootfs(), image: { Cmd: ['ls', '/sys/class/net'] }, run: options });
  const { attached } = await bed.runtime.start(id, { attach: { stdout } });
  expect((await bed.runtime.wait(id)).exitCode).toBe(0);
  await attached;
  return stdout.text().trim().split(/\s+/).sort();
}

test('a network namespace given by path is joined', async () => {
  expect(await interfaces({ network: { mode: 'namespace', path: `/run/netns/${netns}` } })).toEqual(['lo', 'probe0', 'probe1']);
});

test('host networking shares the host\'s interfaces', async () => {
  // Other tests add and remove bridges and veths on the host meanwhile: look for the lasting ones.
  const host = execFileSync('ls', ['/sys/class/net'], { encoding: 'utf8' }).trim().split(/\s+/).filter((i) => i === 'lo' || i.startsWith('eth'));
  expect(host.length).toBeGreaterThan(1);
  expect(await interfaces({ network: { mode: 'host' } })).toEqual(expect.arrayContaining(host));
});

test("another container's network namespace is joined through its process", async () => {
  const owner = `net${n++}`;
  await bed.runtime.create(owner, { rootfs: await bed.rootfs(), image: { Cmd: ['sleep', '60'] }, run: { network: { mode: 'namespace', path: `/run/netns/${netns}` } } });
  await bed.runtime.start(owner);
  try {
    expect(await interfaces({ network: { mode: 'container', id: owner } })).toEqual(['lo', 'probe0', 'probe1']);
  } finally {
    await bed.runtime.delete(owner, { force: true });
  }
});
