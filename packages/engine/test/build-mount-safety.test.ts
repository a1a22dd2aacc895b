import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEvent } from '@ctr/dockerfile';
import type { BuildImageOptions } from '@ctr/engine';
import { childBuild, mountsUnder, testEngine, type TestEngine } from './fixture';

/**
 * What `RUN --mount` must never do to the host while, and after, a step runs: put a secret on
 * the disk, lose a cache a step in another process is using to a prune, leave an ssh agent's
 * proxy behind a killed build. Real runc steps; other processes are child Node processes with
 * their own Engine on the same root.
 */

/** A child build of the context in argv[3] with the options (secrets as text) in argv[4]; it says `running` once its RUN step has, and its last line is how the build ended. */
const builder = `
const { Engine } = require(${JSON.stringify(require.resolve('@ctr/engine').replace(/src(\/index\.ts)?$/, 'dist'))});
const engine = new Engine({ root: process.argv[1], runRoot: process.argv[2] });
const { secrets, ...options } = JSON.parse(process.argv[4]);
const bytes = Object.fromEntries(Object.entries(secrets ?? {}).map(([k, v]) => [k, Buffer.from(v)]));
engine.build({ context: process.argv[3], network: 'none', noCache: true, secrets: bytes, ...options, onEvent: (e) => { if (e.type === 'output' && String(e.data).includes('running')) process.stdout.write('running\\n'); } })
  .then(({ id }) => process.stdout.write('built ' + id + '\\n'))
  .catch((e) => { process.stdout.write('failed ' + (e && e.message) + '\\n'); process.exit(1); });
`;

/** Shell that waits (at most a minute) until the test creates `go` in the context, which steps see at /ctx. */
const AWAIT_GO = 'i=0; while [ ! -e /ctx/go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done';
const BIND_CONTEXT = '--mount=type=bind,target=/ctx';
const TMPFS_MAGIC = 0x01021994;

describe('RUN --mount on the host', () => {
  let t: TestEngine;
  let context: string;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    t = await testEngine();
  });
  beforeEach(async () => {
    context = await mkdtemp(join(tmpdir(), 'ctr-build-mount-safety-'));
  });
  afterEach(async () => {
    // A step still waiting ends; a child still building is killed, and what it left is swept below.
    await writeFile(join(context, 'go'), '');
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await t.engine.pruneImages();
    await rm(context, { recursive: true, force: true });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  const scratch = (): string => join(t.root, 'engine', 'tmp');
  // No other container runs on this root: every runc container is a build step's.
  const runcContainers = (): string[] => readdirSync(join(t.runRoot, 'runc'));
  const go = (): Promise<void> => writeFile(join(context, 'go'), '');

  /** Build `dockerfile` in this process; `running` resolves once a step has printed `running`. */
  function buildHere(dockerfile: string, options: Partial<BuildImageOptions> = {}): { running: Promise<void>; done: Promise<string> } {
    let output = '';
    let ran!: () => void;
    const running = new Promise<void>((resolve) => (ran = resolve));
    const done = writeFile(join(context, 'Dockerfile'), dockerfile)
      .then(() =>
        t.engine.build({
          context,
          network: 'none',
          noCache: true,
          ...options,
          onEvent: (e) => {
            output += formatEvent(e);
            if (output.includes('running\n')) ran();
          },
        }),
      )
      .then(() => output);
    done.catch(() => ran());
    return { running, done };
  }

  /** Start a child process building `dockerfile`; resolves once its RUN step has printed `running`. */
  async function build(dockerfile: string, options: { secrets?: Record<string, string>; ssh?: Record<string, string> } = {}): Promise<{ child: ChildProcess; done: Promise<string> }> {
    await writeFile(join(context, 'Dockerfile'), dockerfile);
    return childBuild(builder, [t.root, t.runRoot, context, JSON.stringify(options)], children);
  }

  async function killed(child: ChildProcess, done: Promise<string>): Promise<void> {
    child.kill('SIGKILL');
    await done;
  }

  /**
   * Regular files under `dir` whose bytes hold `needle`. Without `crossMounts`, only those on
   * `dir`'s own filesystem (`find -xdev`): what is on the disk, not what is mounted there.
   */
  function filesHolding(dir: string, needle: string, options: { crossMounts?: boolean } = {}): string[] {
    const device = statSync(dir).dev;
    const found: string[] = [];
    const walk = (at: string): void => {
      const stat = lstatSync(at, { throwIfNoEntry: false });
      if (!stat || (!options.crossMounts && stat.dev !== device)) return;
      if (stat.isDirectory()) for (const name of readdirSync(at)) walk(join(at, name));
      else if (stat.isFile() && readFileSync(at).includes(needle)) found.push(at);
    };
    walk(dir);
    return found;
  }

  describe('type=secret,env=: the secret never touches the disk', () => {
    const newSecret = (): string => `secret-${randomBytes(12).toString('hex')}`;
    const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

    test('while its step runs, no file on the disk under the root or the run root holds the secret', async () => {
      const secret = newSecret();
      // The step shows a digest of what it got, so that the secret itself is printed nowhere.
      const { running, done } = buildHere(`FROM busybox\nRUN ${BIND_CONTEXT} --mount=type=secret,id=tok,env=TOK printf %s "$TOK" | sha256sum; echo running; ${AWAIT_GO}\n`, { secrets: { tok: Buffer.from(secret) } });
      await running;
      try {
        expect(filesHolding(t.root, secret)).toEqual([]);
        expect(filesHolding(t.runRoot, secret)).toEqual([]);
      } finally {
        await go();
      }
      expect(await done).toContain(`${sha256(secret)}  -\n`);
    });

    test('is in its step container\'s spec, on a tmpfs, while the step runs', async () => {
      const secret = newSecret();
      const { running, done } = buildHere(`FROM busybox\nRUN ${BIND_CONTEXT} --mount=type=secret,id=tok,env=TOK echo running; ${AWAIT_GO}\n`, { secrets: { tok: Buffer.from(secret) } });
      await running;
      try {
        const specs = filesHolding(t.root, secret, { crossMounts: true });
        expect(specs).toEqual([expect.stringMatching(/\/([0-9a-z-]+)\.mounts\/secrets\/container\/containers\/\1\/config\.json$/)]);
        expect(statfsSync(specs[0]!).type).toBe(TMPFS_MAGIC);
      } finally {
        await go();
      }
      await done;
      expect(await mountsUnder(scratch())).toEqual([]);
    });

    test('reaches an exec-form RUN in an image with no shell', async () => {
      const secret = newSecret();
      const { done } = buildHere(`FROM busybox AS tools\nFROM scratch\nCOPY --from=tools /bin/busybox /busybox\nRUN --mount=type=secret,id=tok,env=TOK ["/busybox", "env"]\n`, { secrets: { tok: Buffer.from(secret) } });
      expect(await done).toContain(`TOK=${secret}\n`);
    });

    test('a step of a killed build, its container on the secrets\' tmpfs, is cleared by the next build', async () => {
      const { child, done } = await build(`FROM busybox\nRUN --mount=type=secret,id=tok,env=TOK echo running; sleep 60\n`, { secrets: { tok: newSecret() } });
      await killed(child, done);
      expect(runcContainers()).toHaveLength(1);

      await buildHere('FROM busybox\nRUN true\n').done;
      expect(runcContainers()).toEqual([]);
      expect(await mountsUnder(scratch())).toEqual([]);
      expect(readdirSync(scratch())).toEqual([]);
    });
  });

  describe('type=cache: a prune leaves a cache that a step in another process uses', () => {
    const cacheMountsDir = (): string => join(t.root, 'engine', 'cache-mounts');
    /** The directory key of the cache mount with this `id`. */
    const keyOf = (id: string): string | undefined =>
      readdirSync(cacheMountsDir()).find((key) => {
        const info = join(cacheMountsDir(), key, 'info.json');
        return existsSync(info) && (JSON.parse(readFileSync(info, 'utf8')) as { id: string }).id === id;
      });
    const step = (id: string, sharing: string): string => `FROM busybox\nRUN ${BIND_CONTEXT} --mount=type=cache,id=${id},target=/c,sharing=${sharing} echo kept > /c/f; echo running; ${AWAIT_GO}\n`;

    test('sharing=shared: builder prune skips it while the step runs, and removes it after', async () => {
      const { done } = await build(step('shared-in-use', 'shared'));
      const key = keyOf('shared-in-use')!;
      expect((await t.engine.pruneBuildCache()).CachesDeleted).not.toContain(key);
      expect(readFileSync(join(cacheMountsDir(), key, '0', 'f'), 'utf8')).toBe('kept\n');

      await go();
      expect(await done).toMatch(/^built sha256:/);
      expect((await t.engine.pruneBuildCache()).CachesDeleted).toContain(key);
      expect(existsSync(join(cacheMountsDir(), key))).toBe(false);
    });

    test('sharing=locked: system prune skips it while the step runs, and removes it after', async () => {
      const { done } = await build(step('locked-in-use', 'locked'));
      const key = keyOf('locked-in-use')!;
      expect((await t.engine.prune()).CachesDeleted).not.toContain(key);
      expect(readFileSync(join(cacheMountsDir(), key, '0', 'f'), 'utf8')).toBe('kept\n');

      await go();
      expect(await done).toMatch(/^built sha256:/);
      expect((await t.engine.prune()).CachesDeleted).toContain(key);
      expect(existsSync(join(cacheMountsDir(), key))).toBe(false);
    });

    test('is shown in use by system df while the step runs', async () => {
      const { done } = await build(step('df-in-use', 'shared'));
      const key = keyOf('df-in-use')!;
      expect((await t.engine.df()).BuildCache).toContainEqual(expect.objectContaining({ ID: key, Type: 'exec.cachemount', InUse: true }));
      await go();
      await done;
      expect((await t.engine.df()).BuildCache).toContainEqual(expect.objectContaining({ ID: key, InUse: false }));
    });

    test('a use a killed build left holds it no longer: builder prune removes it', async () => {
      const { child, done } = await build(step('left-by-a-killed-build', 'shared'));
      const key = keyOf('left-by-a-killed-build')!;
      await killed(child, done);
      expect((await t.engine.pruneBuildCache()).CachesDeleted).toContain(key);
      expect(existsSync(join(cacheMountsDir(), key))).toBe(false);
      expect(runcContainers()).toEqual([]);
    });
  });

  describe('type=ssh', () => {
    let agentDir: string;
    let agent: Server;
    beforeEach(async () => {
      agentDir = await mkdtemp(join(tmpdir(), 'ctr-build-agent-'));
      agent = createServer((c) => c.end());
      await new Promise<void>((resolve) => agent.listen(join(agentDir, 'agent.sock'), resolve));
    });
    afterEach(async () => {
      agent.close();
      await rm(agentDir, { recursive: true, force: true });
    });
    const proxies = (): string[] => readdirSync(t.runRoot).filter((name) => name.startsWith('ssh-'));

    test('the agent proxy a killed build left in the run root is swept by the next build', async () => {
      const { child, done } = await build('FROM busybox\nRUN --mount=type=ssh echo running; sleep 60\n', { ssh: { default: join(agentDir, 'agent.sock') } });
      await killed(child, done);
      expect(proxies().filter((name) => !name.endsWith('.lock'))).toHaveLength(1);

      await buildHere('FROM busybox\nRUN true\n').done;
      expect(proxies()).toEqual([]);
    });

    test('a build still using its agent proxy keeps it through another\'s sweep', async () => {
      const { done } = await build(`FROM busybox\nRUN ${BIND_CONTEXT} --mount=type=ssh echo running; ${AWAIT_GO}\n`, { ssh: { default: join(agentDir, 'agent.sock') } });
      await buildHere('FROM busybox\nRUN true\n').done;
      expect(proxies().filter((name) => !name.endsWith('.lock'))).toHaveLength(1);
      await go();
      expect(await done).toMatch(/^built sha256:/);
      expect(proxies()).toEqual([]);
    });
  });
});
