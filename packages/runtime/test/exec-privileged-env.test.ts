import { readFileSync } from 'node:fs';
import { Collector, testBed, type TestBed } from './helpers';

let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
  await bed.runtime.create('box', { rootfs: await bed.rootfs(), image: { Cmd: ['sleep', '1000'], Env: ['KEEP=1', 'GONE=2', 'LAST=3'] } });
  await bed.runtime.start('box');
});
afterAll(async () => {
  await bed.cleanup();
});

async function output(cmd: string | string[], options: { env?: string[]; privileged?: boolean } = {}): Promise<string> {
  const stdout = new Collector();
  const stderr = new Collector();
  const argv = typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd;
  const { exitCode } = await bed.runtime.exec('box', { cmd: argv, stdout, stderr, ...options });
  expect({ exitCode, stderr: stderr.text() }).toEqual({ exitCode: 0, stderr: '' });
  return stdout.text();
}

const capabilityLines = 'grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb)" /proc/self/status';

test('a privileged exec has every capability the host grants in its bounding, permitted and effective sets', async () => {
  const hostBounding = /^CapBnd:\t(\w+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  expect(await output(capabilityLines, { privileged: true })).toBe(
    `CapInh:\t0000000000000000\nCapPrm:\t${hostBounding}\nCapEff:\t${hostBounding}\nCapBnd:\t${hostBounding}\nCapAmb:\t0000000000000000\n`,
  );
});

test('an exec without privileged keeps the container default capabilities', async () => {
  expect(await output(capabilityLines)).toBe(
    'CapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\n',
  );
});

test('an exec env entry without "=" unsets that variable instead of failing', async () => {
  expect(await output('env | grep -E "^(KEEP|GONE|LAST|NOPE)=" | sort', { env: ['GONE', 'NOPE'] })).toBe('KEEP=1\nLAST=3\n');
});

test('an exec env override replaces the inherited variable in place and new ones come last', async () => {
  // The process's own environment, in order (a shell would reorder it).
  const environ = (await output(['cat', '/proc/self/environ'], { env: ['NEW=4', 'GONE=changed'] })).split('\0');
  expect(environ.filter((e) => /^(KEEP|GONE|LAST|NEW)=/.test(e))).toEqual(['KEEP=1', 'GONE=changed', 'LAST=3', 'NEW=4']);
});
