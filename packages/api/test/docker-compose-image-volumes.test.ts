/**
 * docker-compose 1.29 keeps the data of an image's VOLUME across a recreate: it reads the
 * image's `ContainerConfig.Volumes` and hands the old container's anonymous volumes to the new one.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, dockerCompose, useTestDaemon, type Run } from './fixture';

const t = useTestDaemon();
let project: string;

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'ctr-api-compose-image-volumes-'));
  expect((await docker(t.env, ['create', '--pull', 'never', '--network', 'none', '--name', 'volimg-base', 'busybox'])).code).toBe(0);
  expect((await docker(t.env, ['commit', '--change', 'VOLUME /data', 'volimg-base', 'ctr-volimg:1'])).code).toBe(0);
  await docker(t.env, ['rm', 'volimg-base']);
  await writeFile(
    join(project, 'docker-compose.yml'),
    ['version: "3.8"', 'services:', '  app:', '    image: ctr-volimg:1', '    command: ["sleep", "300"]', ''].join('\n'),
  );
});
afterAll(async () => {
  await compose(['down', '-v', '-t', '0']).catch(() => undefined);
  await docker(t.env, ['rmi', 'ctr-volimg:1']).catch(() => undefined);
  if (project) await rm(project, { recursive: true, force: true });
});
function compose(args: string[]): Promise<Run> {
  return dockerCompose(t.env, project, 'ctrimgvol', args);
}

test("the image's VOLUME is in its inspect's ContainerConfig.Volumes, as a classic build's last step has it", async () => {
  const inspect = await docker(t.env, ['image', 'inspect', '--format', '{{json .ContainerConfig.Volumes}}', 'ctr-volimg:1']);
  expect(JSON.parse(inspect.stdout)).toEqual({ '/data': {} });
});

test("a recreated service keeps what its image's anonymous volume held", async () => {
  expect((await compose(['up', '-d'])).code).toBe(0);
  expect((await compose(['exec', '-T', 'app', 'sh', '-c', 'echo kept > /data/marker'])).code).toBe(0);
  const recreated = await compose(['up', '-d', '--force-recreate', '-t', '0']);
  expect(recreated.stderr).toMatch(/Recreating ctrimgvol_app_1 \.\.\. done/);
  expect((await compose(['exec', '-T', 'app', 'cat', '/data/marker'])).stdout).toBe('kept\n');
}, 120_000);
