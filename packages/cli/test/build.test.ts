import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

describe('ctr build (real runc, conmon, overlayfs)', () => {
  let local: LocalCtr;
  let context: string;
  const ctr = (...args: string[]): Promise<CtrResult> => local.run(...args);

  beforeAll(async () => {
    local = await localCtr('build');
    context = await mkdtemp(join(tmpdir(), 'ctr-cli-build-context-'));
  });
  afterAll(async () => {
    await rm(context, { recursive: true, force: true });
    await local?.cleanup();
  });

  const dockerfile = (text: string): Promise<void> => writeFile(join(context, 'Dockerfile'), text);

  test('--iidfile gets the image ID, as docker writes it (no newline)', async () => {
    await dockerfile('FROM busybox\nLABEL built=yes\n');
    const iid = join(context, 'iid');
    expect((await ctr('build', '-q', '--iidfile', iid, context)).code).toBe(0);
    const id = await readFile(iid, 'utf8');
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await ctr('image', 'inspect', '--format', '{{.Id}}', id)).stdout).toBe(`${id}\n`);
  });

  test("a failed RUN exits with its code (as docker's legacy builder does) and leaves no --iidfile behind, not even an earlier one", async () => {
    const iid = join(context, 'iid-stale');
    await writeFile(iid, 'sha256:stale');
    await dockerfile('FROM busybox\nRUN exit 3\n');
    const failed = await ctr('build', '--iidfile', iid, context);
    expect(failed.code).toBe(3);
    expect(failed.stderr).toContain("returned a non-zero code: 3");
    expect(existsSync(iid)).toBe(false);
  });

  test('--add-host, --memory, --shm-size and --ulimit reach every RUN step', async () => {
    await dockerfile("FROM busybox\nRUN { grep build.test /etc/hosts; cat /sys/fs/cgroup/memory/memory.limit_in_bytes; df -k /dev/shm | tail -1 | awk '{print $2}'; ulimit -Sn; } > /seen\n");
    const built = await ctr('build', '-q', '--add-host', 'build.test:127.0.0.9', '-m', '96m', '--shm-size', '4m', '--ulimit', 'nofile=321:654', context);
    expect(built.code).toBe(0);
    const seen = await ctr('run', '--rm', '--network', 'none', built.stdout.trim(), 'cat', '/seen');
    expect(seen.stdout).toBe(`127.0.0.9\tbuild.test\n${96 * 1024 * 1024}\n4096\n321\n`);
  });

  test("a context path that is not there is the CLI's own error, in docker's words", async () => {
    const missing = join(context, 'missing');
    const refused = await ctr('build', missing);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`unable to prepare context: path "${missing}" not found\n`);
  });

  test("a context path that is a file is the CLI's own error, in docker's words", async () => {
    const file = join(context, 'Dockerfile');
    await dockerfile('FROM busybox\n');
    const refused = await ctr('build', file);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`unable to prepare context: context must be a directory: ${file}\n`);
  });

  test('a malformed --ulimit is refused before anything is built, with docker\'s words', async () => {
    const refused = await ctr('build', '--ulimit', 'nofile', context);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toContain('invalid argument "nofile" for "--ulimit" flag: invalid ulimit argument: nofile');
  });
});
