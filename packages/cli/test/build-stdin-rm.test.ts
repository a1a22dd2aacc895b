import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

/** `ctr build -` with a Dockerfile on stdin, and `--rm` / `--force-rm` (real runc, conmon, overlayfs). */
describe('ctr build - < Dockerfile, --rm and --force-rm', () => {
  let local: LocalCtr;
  const ctr = (...args: string[]): Promise<CtrResult> => local.run(...args);
  /** `ctr build --network none <args> -` with `dockerfile` on stdin. */
  const buildStdin = (dockerfile: string, ...args: string[]): Promise<CtrResult> => local.runWith({ env: process.env, input: dockerfile }, 'build', '--network', 'none', ...args, '-');
  /** The containers `ps -a` lists, as `ID COMMAND STATUS` lines (the status without its age). */
  const containers = async (): Promise<string[]> =>
    (await ctr('ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Command}} {{.Status}}')).stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.replace(/ (?:Less than a second|About a minute|\d+ \w+) ago$/, ''));

  beforeAll(async () => {
    local = await localCtr('build-stdin');
  });
  afterEach(async () => {
    for (const line of await containers()) await ctr('rm', '-f', line.split(' ')[0]!);
  });
  afterAll(async () => {
    await local?.cleanup();
  });

  test('a Dockerfile on stdin is built with an empty context', async () => {
    const built = await buildStdin('FROM busybox\nRUN echo hello > /hello\n', '-t', 'from-stdin');
    expect(built.code).toBe(0);
    expect((await ctr('run', '--rm', '--network', 'none', 'from-stdin', 'cat', '/hello')).stdout).toBe('hello\n');
  });

  test('its RUN runs, and a COPY fails for want of the file, in docker\'s words', async () => {
    const built = await buildStdin('FROM busybox\nRUN echo ran\nCOPY app.sh /\n', '-t', 'from-stdin-copy');
    expect(built.stdout).toContain('Step 2/3 : RUN echo ran\n');
    expect(built.stdout).toContain('\nran\n');
    expect(built.code).toBe(1);
    expect(built.stderr).toContain('COPY failed: file not found in build context or excluded by .dockerignore: stat app.sh: file does not exist');
  });

  test('-f with a Dockerfile on stdin is ambiguous, as docker says', async () => {
    const built = await buildStdin('FROM busybox\n', '-f', 'Dockerfile');
    expect(built.code).toBe(1);
    expect(built.stderr).toContain('ambiguous Dockerfile source: both stdin and flag correspond to Dockerfiles');
  });

  test('a failed step leaves its container, exited with the step\'s code', async () => {
    const built = await buildStdin('FROM busybox\nRUN exit 3\n');
    expect(built.code).toBe(3);
    const id = /Running in ([0-9a-f]{12})/.exec(built.stdout)?.[1];
    expect(await containers()).toEqual([expect.stringMatching(new RegExp(`^${id}[0-9a-f]{52} "/bin/sh -c 'exit 3'" Exited \\(3\\)$`))]);
  });

  test('--force-rm removes a failed step\'s container too', async () => {
    const built = await buildStdin('FROM busybox\nRUN exit 3\n', '--force-rm');
    expect(built.code).toBe(3);
    expect(built.stdout).toMatch(/ ---> Removed intermediate container [0-9a-f]{12}\n$/);
    expect(await containers()).toEqual([]);
  });

  test('--rm=false leaves every step\'s container, exited', async () => {
    const built = await buildStdin('FROM busybox\nRUN echo one > /one\nRUN echo two > /two\n', '--rm=false', '--no-cache');
    expect(built.code).toBe(0);
    expect(built.stdout).not.toContain('Removed intermediate container');
    expect((await containers()).map((line) => line.slice(65)).sort()).toEqual([`"/bin/sh -c 'echo one > /one'" Exited (0)`, `"/bin/sh -c 'echo two > /two'" Exited (0)`]);
  });

  test('by default a successful step leaves nothing', async () => {
    const built = await buildStdin('FROM busybox\nRUN true\n', '--no-cache');
    expect(built.code).toBe(0);
    expect(await containers()).toEqual([]);
  });
});
