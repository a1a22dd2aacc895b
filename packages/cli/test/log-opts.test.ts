import { localCtr, type LocalCtr } from './local-ctr';

let ctr: LocalCtr;
beforeAll(async () => {
  ctr = await localCtr('log-opts');
});
afterAll(async () => {
  await ctr.cleanup();
});

test('ctr run --log-opt max-size caps what ctr logs keeps, and inspect shows the LogConfig', async () => {
  const script = 'i=0; while [ $i -lt 2000 ]; do printf "%04d %095d\\n" $i 0; i=$((i+1)); done';
  expect((await ctr.run('run', '--network', 'none', '--name', 'capped', '--log-opt', 'max-size=64k', 'busybox', 'sh', '-c', script)).code).toBe(0);
  expect(JSON.parse((await ctr.run('inspect', '--format', '{{json .HostConfig.LogConfig}}', 'capped')).stdout)).toEqual({ Type: 'json-file', Config: { 'max-size': '64k' } });
  const lines = (await ctr.run('logs', 'capped')).stdout.trim().split('\n');
  expect(lines.length).toBeLessThan(2000);
  expect(lines[lines.length - 1]?.slice(0, 4)).toBe('1999');
});

test('ctr create takes max-file above 1 without a warning, as docker does', async () => {
  const created = await ctr.run('create', '--network', 'none', '--log-opt', 'max-size=1m', '--log-opt', 'max-file=3', 'busybox');
  expect(created.code).toBe(0);
  expect(created.stderr).toBe('');
  expect(created.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
});

test('a --log-opt without a value is refused with exit code 125', async () => {
  const run = await ctr.run('run', '--rm', '--network', 'none', '--log-opt', 'max-size', 'busybox', 'true');
  expect(run.code).toBe(125);
  expect(run.stderr).toContain('invalid key value pair format in log-opt: max-size');
});
