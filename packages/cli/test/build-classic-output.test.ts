import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

/**
 * `ctr build` without --progress, compared line by line with what docker's classic builder
 * prints (IDs matched by pattern: 12 hex characters), on real runc, conmon and overlayfs.
 */
describe("ctr build: the classic builder's output, failures and image config", () => {
  let local: LocalCtr;
  let context: string;
  const ctr = (...args: string[]): Promise<CtrResult> => local.run(...args);
  const dockerfile = (text: string): Promise<void> => writeFile(join(context, 'Dockerfile'), text);
  const ID = '[0-9a-f]{12}';
  /** The output as a pattern: every line as written, `<id>` for an ID. */
  const lines = (...expected: string[]): RegExp => new RegExp(`^${expected.map((l) => l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replaceAll('<id>', ID)).join('\n')}\n$`);

  beforeAll(async () => {
    local = await localCtr('build-classic');
    context = await mkdtemp(join(tmpdir(), 'ctr-cli-build-classic-'));
    await writeFile(join(context, 'a.txt'), 'hello\n');
  });
  afterAll(async () => {
    await rm(context, { recursive: true, force: true });
    await local?.cleanup();
  });

  test('a build prints the steps, the containers, a cached rebuild says Using cache', async () => {
    await dockerfile('FROM busybox\nENV A=1\nCOPY a.txt /\nRUN cat /a.txt\nCMD ["sh"]\n');
    const first = await ctr('build', '--no-cache', '-t', 'classic/out', context);
    expect(first.stdout).toMatch(
      lines(
        'Step 1/5 : FROM busybox',
        ' ---> <id>',
        'Step 2/5 : ENV A=1',
        ' ---> Running in <id>',
        ' ---> Removed intermediate container <id>',
        ' ---> <id>',
        'Step 3/5 : COPY a.txt /',
        ' ---> <id>',
        'Step 4/5 : RUN cat /a.txt',
        ' ---> Running in <id>',
        'hello',
        ' ---> Removed intermediate container <id>',
        ' ---> <id>',
        'Step 5/5 : CMD ["sh"]',
        ' ---> Running in <id>',
        ' ---> Removed intermediate container <id>',
        ' ---> <id>',
        'Successfully built <id>',
        'Successfully tagged classic/out:latest',
      ),
    );
    const again = await ctr('build', '-t', 'classic/out', context);
    expect(again.stdout).toMatch(
      lines(
        'Step 1/5 : FROM busybox',
        ' ---> <id>',
        'Step 2/5 : ENV A=1',
        ' ---> Using cache',
        ' ---> <id>',
        'Step 3/5 : COPY a.txt /',
        ' ---> Using cache',
        ' ---> <id>',
        'Step 4/5 : RUN cat /a.txt',
        ' ---> Using cache',
        ' ---> <id>',
        'Step 5/5 : CMD ["sh"]',
        ' ---> Using cache',
        ' ---> <id>',
        'Successfully built <id>',
        'Successfully tagged classic/out:latest',
      ),
    );
    expect(again.stdout.split('\n').at(-3)).toBe(first.stdout.split('\n').at(-3));
  });

  test('each --label is a LABEL step of its own; an unused build arg is warned of before Successfully built', async () => {
    await dockerfile('FROM busybox\nARG USED\n');
    const built = await ctr('build', '--build-arg', 'USED=1', '--build-arg', 'NOPE=2', '--label', 'b=2', '--label', 'a=x y', context);
    expect(built.stdout).toMatch(
      lines(
        'Step 1/4 : FROM busybox',
        ' ---> <id>',
        'Step 2/4 : ARG USED',
        ' ---> Running in <id>',
        ' ---> Removed intermediate container <id>',
        ' ---> <id>',
        'Step 3/4 : LABEL a=x y',
        ' ---> Running in <id>',
        ' ---> Removed intermediate container <id>',
        ' ---> <id>',
        'Step 4/4 : LABEL b=2',
        ' ---> Running in <id>',
        ' ---> Removed intermediate container <id>',
        ' ---> <id>',
        '[Warning] One or more build-args [NOPE] were not consumed',
        'Successfully built <id>',
      ),
    );
  });

  test("a failed RUN prints docker's words bare and exits with the step's code", async () => {
    await dockerfile('FROM busybox\nRUN exit 3\n');
    const failed = await ctr('build', '--force-rm', context);
    expect(failed.stdout).toMatch(lines('Step 1/2 : FROM busybox', ' ---> <id>', 'Step 2/2 : RUN exit 3', ' ---> Running in <id>', ' ---> Removed intermediate container <id>'));
    expect(failed.stderr).toBe("The command '/bin/sh -c exit 3' returned a non-zero code: 3\n");
    expect(failed.code).toBe(3);
  });

  test("-q holds a failed build's output back and prints it on stderr before the error, as docker's CLI does", async () => {
    await dockerfile('FROM busybox\nRUN echo before; exit 3\n');
    const failed = await ctr('build', '-q', '--force-rm', context);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toMatch(
      lines(
        'Step 1/2 : FROM busybox',
        ' ---> <id>',
        'Step 2/2 : RUN echo before; exit 3',
        ' ---> Running in <id>',
        'before',
        ' ---> Removed intermediate container <id>',
        "The command '/bin/sh -c echo before; exit 3' returned a non-zero code: 3",
      ),
    );
  });

  test("a RUN's stderr is printed in red, as docker's CLI prints what dockerd streams", async () => {
    await dockerfile('FROM busybox\nRUN echo err >&2\n');
    const built = await ctr('build', '--no-cache', context);
    expect(built.stdout).toContain('\n\x1b[91merr\n\x1b[0m ---> Removed intermediate container ');
  });

  test("a -t docker would not take is the flag's usage error, before anything is built", async () => {
    await dockerfile('FROM busybox\n');
    const refused = await ctr('build', '-t', 'Bad:Tag', context);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toMatch(/^invalid argument "Bad:Tag" for "-t, --tag" flag: invalid reference format: repository name \(library\/Bad\) must be lowercase\n\nUsage:/);
  });

  test('a COPY of nothing prints COPY failed bare and exits 1', async () => {
    await dockerfile('FROM busybox\nCOPY missing /\n');
    const failed = await ctr('build', context);
    expect(failed.stderr).toBe('COPY failed: file not found in build context or excluded by .dockerignore: stat missing: file does not exist\n');
    expect(failed.code).toBe(1);
  });

  test('a Dockerfile that does not parse is refused before any step, as an error', async () => {
    await dockerfile('FROM busybox\nNOPE x\n');
    const failed = await ctr('build', context);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toMatch(/^Error.*unknown instruction: NOPE/);
    expect(failed.code).toBe(1);
  });

  test('an image built on a base without PATH gets the default PATH in its config', async () => {
    expect((await ctr('image', 'inspect', '--format', '{{json .Config.Env}}', 'busybox')).stdout).toBe('null\n');
    await dockerfile('FROM busybox\nENV A=1\n');
    const built = await ctr('build', '-q', context);
    const env = await ctr('image', 'inspect', '--format', '{{json .Config.Env}}', built.stdout.trim());
    expect(env.stdout).toBe('["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=1"]\n');
  });
});
