import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, dockerCompose, useTestDaemon, type Run } from './fixture';

const t = useTestDaemon();
let project: string;

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'ctr-api-copy-up-'));
});
afterAll(async () => {
  await compose(['down', '-v', '-t', '0']).catch(() => undefined);
  if (project) await rm(project, { recursive: true, force: true });
});

function compose(args: string[]): Promise<Run> {
  return dockerCompose(t.env, project, 'ctrcopy', args);
}

/** `docker run --rm --network none [args] busybox sh -c script`. */
function runSh(args: string[], script: string): Promise<Run> {
  return docker(t.env, ['run', '--rm', '--network', 'none', ...args, 'busybox', 'sh', '-c', script]);
}

test("docker run -v with a new named volume over /etc shows the image's /etc", async () => {
  const result = await runSh(['-v', 'copy-etc:/etc'], 'head -1 /etc/passwd');
  expect(result).toMatchObject({ code: 0, stdout: 'root:x:0:0:root:/root:/bin/sh\n' });
});

test('docker run -v with the delegated mode is accepted', async () => {
  expect(await runSh(['-v', 'copy-delegated:/data:delegated'], 'echo ok > /data/f && cat /data/f')).toMatchObject({ code: 0, stdout: 'ok\n' });
});

test("docker run --mount of a bind whose source is missing fails in dockerd's words, and the source is not made", async () => {
  const missing = join(project, 'missing');
  const result = await runSh(['--mount', `type=bind,src=${missing},dst=/x`], 'true');
  expect(result.code).toBe(125);
  expect(result.stderr).toContain(`Error response from daemon: invalid mount config for type "bind": bind source path does not exist: ${missing}`);
  await expect(readdir(missing)).rejects.toMatchObject({ code: 'ENOENT' });
});

test('docker run --mount with volume-opt makes the volume with those driver options', async () => {
  const result = await runSh(['--mount', 'src=copy-opt,dst=/x,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-opt=o=size=1m'], "df -k /x | awk 'NR==2 {print $1, $2}'");
  expect(result).toMatchObject({ code: 0, stdout: 'tmpfs 1024\n' });
  expect((await docker(t.env, ['volume', 'inspect', '-f', '{{json .Options}}', 'copy-opt'])).stdout.trim()).toBe('{"device":"tmpfs","o":"size=1m","type":"tmpfs"}');
});

test('docker-compose 1.29 fills a new named volume from the image, leaves a nocopy one empty, and a recreate keeps what was written', async () => {
  await writeFile(
    join(project, 'docker-compose.yml'),
    [
      'version: "3.8"',
      'services:',
      '  app:',
      '    image: busybox',
      '    network_mode: none',
      '    command: ["sleep", "300"]',
      '    volumes:',
      '      - etc:/etc',
      '      - type: volume',
      '        source: empty',
      '        target: /usr',
      '        volume:',
      '          nocopy: true',
      'volumes:',
      '  etc:',
      '  empty:',
      '',
    ].join('\n'),
  );
  expect((await compose(['up', '-d'])).code).toBe(0);
  const look = (): Promise<Run> => compose(['exec', '-T', 'app', 'sh', '-c', 'tail -1 /etc/group; ls -A /usr | wc -l']);
  expect((await look()).stdout).toBe('nobody:x:65534:\n0\n');
  expect((await compose(['exec', '-T', 'app', 'sh', '-c', 'echo written:x:4242: >> /etc/group'])).code).toBe(0);
  expect((await compose(['up', '-d', '--force-recreate', '-t', '0'])).code).toBe(0);
  expect((await look()).stdout).toBe('written:x:4242:\n0\n');
}, 120_000);
