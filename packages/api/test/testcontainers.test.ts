import { GenericContainer, Wait } from 'testcontainers';
import { useTestDaemon } from './fixture';

const saved = { ...process.env };
const t = useTestDaemon();
beforeAll(() => {
  // testcontainers reads these when it first looks for a container runtime.
  process.env.DOCKER_HOST = `unix://${t.socket}`;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  process.env.TESTCONTAINERS_HOST_OVERRIDE = '127.0.0.1';
  process.env.HOME = t.root;
});
afterAll(() => {
  process.env = saved;
});
test('testcontainers starts busybox, waits for a log line, and stops it', async () => {
  const started = await new GenericContainer('busybox:latest')
    .withCommand(['sh', '-c', 'echo booting; sleep 0.3; echo service ready; sleep 60'])
    .withNetworkMode('none')
    .withWaitStrategy(Wait.forLogMessage('service ready'))
    .withStartupTimeout(20_000)
    .start();
  try {
    const exec = await started.exec(['echo', 'exec-ok']);
    expect(exec.output.trim()).toBe('exec-ok');
    expect(exec.exitCode).toBe(0);
  } finally {
    await started.stop({ timeout: 1 });
  }
  const left = await t.daemon.engine.ps({ all: true });
  expect(left.filter((c) => c.Id === started.getId())).toEqual([]);
}, 60_000);
