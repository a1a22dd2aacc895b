import { docker, useTestDaemon } from './fixture';

const t = useTestDaemon();

test('docker run --log-opt max-size caps the log, and docker inspect shows the LogConfig', async () => {
  const script = 'i=0; while [ $i -lt 2000 ]; do printf "%04d %095d\\n" $i 0; i=$((i+1)); done';
  const run = await docker(t.env, ['run', '--pull', 'never', '--network', 'none', '--name', 'api-capped', '--log-opt', 'max-size=64k', 'busybox', 'sh', '-c', script]);
  expect(run.code).toBe(0);
  const config = await docker(t.env, ['inspect', '--format', '{{json .HostConfig.LogConfig}}', 'api-capped']);
  expect(JSON.parse(config.stdout)).toEqual({ Type: 'json-file', Config: { 'max-size': '64k' } });
  const logs = (await docker(t.env, ['logs', 'api-capped'])).stdout.trim().split('\n');
  expect(logs.length).toBeLessThan(2000);
  expect(logs[logs.length - 1]?.slice(0, 4)).toBe('1999');
  await docker(t.env, ['rm', 'api-capped']);
});

test('docker run with an unknown --log-opt fails with the daemon message and exit code 125', async () => {
  const run = await docker(t.env, ['run', '--pull', 'never', '--rm', '--network', 'none', '--log-opt', 'max-age=1d', 'busybox', 'true']);
  expect(run.code).toBe(125);
  expect(run.stderr).toContain("unknown log opt 'max-age' for json-file log driver");
});

test('docker run --log-driver none shows the output, and docker logs fails with dockerd\'s message', async () => {
  const run = await docker(t.env, ['run', '--pull', 'never', '--network', 'none', '--name', 'api-nolog', '--log-driver', 'none', 'busybox', 'echo', 'attached only']);
  expect(run).toMatchObject({ code: 0, stdout: 'attached only\n' });
  const logs = await docker(t.env, ['logs', 'api-nolog']);
  expect(logs.code).toBe(1);
  expect(logs.stderr).toContain('Error response from daemon: configured logging driver does not support reading');
  await docker(t.env, ['rm', 'api-nolog']);
});
