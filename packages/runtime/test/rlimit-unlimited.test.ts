/**
 * `--ulimit core=-1`: -1 is go-units' unlimited, which the spec holds as RLIM_INFINITY
 * (2^64-1, written exactly for runc's uint64) — in the bundle's config.json and in an exec's process.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { generateSpec, parseUlimit, RLIM_INFINITY, type RunOptions, type SpecContext } from '@ctr/runtime';
import { Collector, testBed, type TestBed } from './helpers';

const context: SpecContext = { id: 'abcdef0123456789', rootfs: '/rootfs', rlimitCeilings: { nofile: 20000, memlock: 8388608 } };
const rlimits = (options: RunOptions): unknown => generateSpec({ Cmd: ['sh'] }, options, context).process.rlimits;

test('-1 and infinity read as unlimited', () => {
  expect(parseUlimit('core=-1')).toEqual({ name: 'core', soft: -1, hard: -1 });
  expect(parseUlimit('core=0:infinity')).toEqual({ name: 'core', soft: 0, hard: -1 });
});

test('an unlimited ulimit is RLIM_INFINITY in the spec', () => {
  expect(rlimits({ ulimits: [{ name: 'core', soft: 0, hard: -1 }] })).toContainEqual({ type: 'RLIMIT_CORE', soft: 0, hard: RLIM_INFINITY });
});

test("an unlimited ulimit where the host's hard limit is finite is refused", () => {
  expect(() => rlimits({ ulimits: [{ name: 'memlock', soft: -1, hard: -1 }] })).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: "ulimit memlock=-1:-1 is above this host's hard limit 8388608" }));
});

test("an unlimited soft limit under a finite hard one is refused in go-units' words", () => {
  expect(() => rlimits({ ulimits: [{ name: 'core', soft: -1, hard: 100 }] })).toThrow('ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: 100');
});

test('a negative limit other than -1 is refused', () => {
  expect(() => rlimits({ ulimits: [{ name: 'core', soft: -2, hard: -2 }] })).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: 'invalid ulimit argument: core=-2:-2' }));
});

describe('in a real container (runc)', () => {
  let bed: TestBed;
  beforeAll(async () => {
    bed = await testBed();
  });
  afterAll(async () => {
    await bed.cleanup();
  });

  const unlimitedCore: RunOptions = { ulimits: [{ name: 'core', soft: -1, hard: -1 }] };

  test("the bundle's config.json holds RLIM_INFINITY exactly", async () => {
    await bed.runtime.create('written', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] }, run: unlimitedCore });
    const config = readFileSync(path.join(bed.base, 'root', 'containers', 'written', 'config.json'), 'utf8');
    expect(config).toContain('{"type":"RLIMIT_CORE","hard":18446744073709551615,"soft":18446744073709551615}');
  });

  test('the process sees the limit as unlimited', async () => {
    const stdout = new Collector();
    await bed.runtime.create('core', { rootfs: await bed.rootfs(), image: { Cmd: ['sh', '-c', 'ulimit -c; ulimit -Hc'] }, run: unlimitedCore });
    const { attached } = await bed.runtime.start('core', { attach: { stdout } });
    expect((await bed.runtime.wait('core')).exitCode).toBe(0);
    await attached;
    expect(stdout.text()).toBe('unlimited\nunlimited\n');
  });

  test('an exec gets the unlimited limit too', async () => {
    await bed.runtime.create('exec-core', { rootfs: await bed.rootfs(), image: { Cmd: ['sleep', '1000'] }, run: unlimitedCore });
    await bed.runtime.start('exec-core');
    const stdout = new Collector();
    expect(await bed.runtime.exec('exec-core', { cmd: ['sh', '-c', 'ulimit -c'], stdout })).toEqual({ exitCode: 0 });
    expect(stdout.text()).toBe('unlimited\n');
    await bed.runtime.delete('exec-core', { force: true });
  });
});
