import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEvent } from '@ctr/dockerfile';
import type { BuildImageOptions } from '@ctr/engine';
import { prepareStepMounts } from '../src/build-mounts';
import { collector, testEngine, type TestEngine } from './fixture';

/** `RUN --mount` for real: runc containers, overlay snapshots, the engine's cache mount directories. */
describe('engine.build: RUN --mount', () => {
  let t: TestEngine;
  let context: string;
  beforeAll(async () => {
    t = await testEngine();
  });
  beforeEach(async () => {
    context = await mkdtemp(join(tmpdir(), 'ctr-build-mount-'));
  });
  afterEach(async () => {
    await rm(context, { recursive: true, force: true });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  /** Build `dockerfile` in the context (steps on no network); its image ID and what the steps printed. */
  async function build(dockerfile: string, options: Partial<BuildImageOptions> = {}): Promise<{ id: string; output: string }> {
    await writeFile(join(context, 'Dockerfile'), dockerfile);
    let output = '';
    const { id } = await t.engine.build({ context, network: 'none', onEvent: (e) => (output += formatEvent(e)), ...options });
    return { id, output };
  }

  /** What `sh -c script` prints in a container of `image`. */
  async function inImage(image: string, script: string): Promise<string> {
    const stdout = collector();
    await t.engine.run({ image, cmd: ['sh', '-c', script], network: 'none', autoRemove: true, stdout, stderr: stdout });
    return stdout.text();
  }

  describe('type=bind', () => {
    test('shows the context read-only, and leaves nothing of the mount in the image', async () => {
      await writeFile(join(context, 'hello.txt'), 'hello\n');
      const { id, output } = await build('FROM busybox\nRUN --mount=target=/src/in cat /src/in/hello.txt; touch /src/in/x || echo refused\n');
      expect(output).toContain('hello\n');
      expect(output).toContain('Read-only file system');
      expect(output).toContain('refused\n');
      expect(await inImage(id, 'ls -d /src 2>&1')).toBe('ls: /src: No such file or directory\n');
    });

    test('rw lets the step write, and throws its writes away: neither the context nor the image keeps them', async () => {
      await mkdir(join(context, 'app'));
      await writeFile(join(context, 'app', 'main.c'), 'int main;\n');
      const { id, output } = await build('FROM busybox\nRUN --mount=source=app,target=/app,rw sh -c "echo built > /app/out; rm /app/main.c; ls /app"\n');
      expect(output).toContain('out\n');
      expect(await readdir(join(context, 'app'))).toEqual(['main.c']);
      expect(await inImage(id, 'ls /app 2>&1')).toBe('ls: /app: No such file or directory\n');
    });

    test('from= a stage shows that stage\'s files', async () => {
      const { output } = await build('FROM busybox AS tools\nRUN echo from-the-stage > /made\nFROM busybox\nRUN --mount=from=tools,source=/made,target=/m cat /m\n');
      expect(output).toContain('from-the-stage\n');
    });

    test('a changed source runs the step again; an unchanged one is cached', async () => {
      await writeFile(join(context, 'v'), '1\n');
      const dockerfile = 'FROM busybox\nRUN --mount=source=v,target=/v cat /v\n';
      expect((await build(dockerfile)).output).toContain('1\n');
      expect((await build(dockerfile)).output).toContain('Using cache');
      await writeFile(join(context, 'v'), '2\n');
      const rebuilt = await build(dockerfile);
      expect(rebuilt.output).not.toContain('Using cache');
      expect(rebuilt.output).toContain('2\n');
    });
  });

  describe('type=cache', () => {
    test('keeps its files from one build to the next, outside the image', async () => {
      const dockerfile = 'FROM busybox\nRUN --mount=type=cache,target=/root/.cache sh -c "echo run >> /root/.cache/log; wc -l < /root/.cache/log"\n';
      expect((await build(dockerfile, { noCache: true })).output).toContain('Running in');
      const second = await build(dockerfile, { noCache: true });
      expect(second.output).toMatch(/\n2\n/);
      expect(await inImage(second.id, 'ls -A /root')).toBe('');
    });

    test('is made with the uid, gid and mode asked', async () => {
      const { output } = await build('FROM busybox\nRUN --mount=type=cache,id=owned,target=/c,uid=1000,gid=50,mode=0750 stat -c "%u %g %a" /c\n', { noCache: true });
      expect(output).toContain('1000 50 750\n');
    });

    test('from= seeds a new cache with a stage\'s directory', async () => {
      const { output } = await build('FROM busybox AS deps\nRUN mkdir /deps && echo seeded > /deps/f\nFROM busybox\nRUN --mount=type=cache,id=seeded,from=deps,source=/deps,target=/c cat /c/f\n', { noCache: true });
      expect(output).toContain('seeded\n');
    });

    test('is counted in system df, and builder prune clears it', async () => {
      const dockerfile = 'FROM busybox\nRUN --mount=type=cache,id=pruned,target=/c sh -c "echo found:\\$(ls /c):; echo x > /c/kept"\n';
      expect((await build(dockerfile, { noCache: true })).output).toContain('found::');
      expect((await build(dockerfile, { noCache: true })).output).toContain('found:kept:');
      const mounts = (await t.engine.df()).BuildCache.filter((e) => e.Type === 'exec.cachemount');
      expect(mounts.length).toBeGreaterThan(0);
      expect(mounts.every((e) => e.Size > 0 && !e.InUse)).toBe(true);
      const pruned = await t.engine.pruneBuildCache();
      expect(pruned.CachesDeleted).toEqual(expect.arrayContaining(mounts.map((e) => e.ID)));
      expect((await t.engine.df()).BuildCache).toEqual([]);
      expect((await build(dockerfile, { noCache: true })).output).toContain('found::');
    });

    test('sharing=locked lets one step at a time in', async () => {
      // Each step fails if it finds another inside the cache.
      const step = 'RUN --mount=type=cache,id=one-at-a-time,target=/c,sharing=locked sh -c "mkdir /c/busy && sleep 1 && rmdir /c/busy"';
      await Promise.all(['a', 'b'].map((n) => t.engine.build({ context, network: 'none', noCache: true, dockerfileContent: `FROM busybox\nLABEL n=${n}\n${step}\n` })));
    });

    test('sharing=private gives a step another directory while one is in use', async () => {
      // Both steps meet in a shared cache first, so each is inside its private one while the other is.
      const sync = `sync-${Date.now()}`;
      const meet = (mark: string, other: string): string => `touch /s/${mark}; i=0; while [ ! -e /s/${other} ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done`;
      const step = (n: string, m: string): string =>
        `RUN --mount=type=cache,id=${sync},target=/s --mount=type=cache,id=mine,target=/p,sharing=private sh -c '${meet(n, m)}; touch /p/${n}; ${meet(`${n}-done`, `${m}-done`)}; echo in-p:$(ls /p)'`;
      const outputs = await Promise.all(
        [['a', 'b'], ['b', 'a']].map(async ([n, m]) => {
          let output = '';
          await t.engine.build({ context, network: 'none', noCache: true, dockerfileContent: `FROM busybox\n${step(n!, m!)}\n`, onEvent: (e) => (output += formatEvent(e)) });
          return output;
        }),
      );
      expect(outputs[0]).toContain('in-p:a\n');
      expect(outputs[1]).toContain('in-p:b\n');
    });

    test('source= shows a directory the cache holds', async () => {
      await build('FROM busybox\nRUN --mount=type=cache,id=parts,target=/c sh -c "mkdir -p /c/go && echo part > /c/go/f"\n', { noCache: true });
      const { output } = await build('FROM busybox\nRUN --mount=type=cache,id=parts,target=/go,source=go cat /go/f\n', { noCache: true });
      expect(output).toContain('part\n');
    });

    test('a source that a step turned into a symlink is refused, not followed (SECURITY-CASES B1)', async () => {
      await build('FROM busybox\nRUN --mount=type=cache,id=swapped,target=/c ln -s / /c/escape\n', { noCache: true });
      await expect(build('FROM busybox\nRUN --mount=type=cache,id=swapped,target=/c2,source=escape ls /c2\n', { noCache: true })).rejects.toMatchObject({
        code: 'InvalidArgument',
        message: 'cache mount source escape is not a directory in the cache',
      });
    });
  });

  describe('type=tmpfs', () => {
    test('is a tmpfs of the size asked, whose programs may run, and that leaves nothing behind', async () => {
      const { id, output } = await build('FROM busybox\nRUN --mount=type=tmpfs,target=/scratch,size=2m sh -c "df -k /scratch | tail -1 | awk \'{print \\$2}\'; printf \'#!/bin/sh\\necho ran\\n\' > /scratch/x; chmod +x /scratch/x; /scratch/x"\n', { noCache: true });
      expect(output).toContain('2048\nran\n');
      expect(await inImage(id, 'ls -d /scratch 2>&1')).toBe('ls: /scratch: No such file or directory\n');
    });
  });

  describe('type=secret', () => {
    test('shows the secret at /run/secrets/<id>, mode 0400, and keeps it out of the image and its history', async () => {
      const { id, output } = await build('FROM busybox\nRUN --mount=type=secret,id=token sh -c "cat /run/secrets/token; stat -c \' %a\' /run/secrets/token"\n', {
        noCache: true,
        secrets: { token: Buffer.from('s3cr3t-value') },
      });
      expect(output).toContain('s3cr3t-value 400\n');
      expect(await inImage(id, 'ls -d /run 2>&1')).toBe('ls: /run: No such file or directory\n');
      expect(JSON.stringify(await t.engine.history(id))).not.toContain('s3cr3t-value');
    });

    test('env= gives it to the step as a variable', async () => {
      const { output } = await build('FROM busybox\nRUN --mount=type=secret,id=token,env=TOKEN sh -c "echo token=\\$TOKEN"\n', { noCache: true, secrets: { token: Buffer.from('abc') } });
      expect(output).toContain('token=abc\n');
    });
  });

  describe('type=ssh', () => {
    test('puts a socket of the owner and mode asked at SSH_AUTH_SOCK', async () => {
      const agentDir = await mkdtemp(join(tmpdir(), 'ctr-build-agent-'));
      const agent = createServer((c) => c.end());
      try {
        await new Promise<void>((resolve) => agent.listen(join(agentDir, 'agent.sock'), resolve));
        const { output } = await build('FROM busybox\nRUN --mount=type=ssh,uid=1000,mode=0660 stat -c "%F %u %a %n" $SSH_AUTH_SOCK\n', { noCache: true, ssh: { default: join(agentDir, 'agent.sock') } });
        expect(output).toContain('socket 1000 660 /run/buildkit/ssh_agent.0\n');
      } finally {
        agent.close();
        await rm(agentDir, { recursive: true, force: true });
      }
    });
  });

  test('mount points a step made are gone after it, and a stub the step swapped for a symlink is left alone (SECURITY-CASES B2)', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'ctr-build-outside-'));
    try {
      await mkdir(join(outside, 'b'));
      // The step moves the stub /a (holding the mount point /a/b) away and puts a symlink to a host path in its place.
      const { id } = await build(`FROM busybox\nRUN --mount=type=tmpfs,target=/a/b sh -c "mv /a /moved && ln -s ${outside} /a"\n`, { noCache: true });
      expect(existsSync(join(outside, 'b'))).toBe(true);
      expect(await inImage(id, 'readlink /a')).toBe(`${outside}\n`);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});

describe('prepareStepMounts: an ssh mount forwards each connection to the agent', () => {
  test('bytes written to the mount\'s socket reach the agent and its answer comes back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctr-step-mounts-'));
    const agent = createServer((c) => c.on('data', (d: Buffer) => c.end(d.toString().toUpperCase())));
    try {
      await new Promise<void>((resolve) => agent.listen(join(dir, 'agent.sock'), resolve));
      await mkdir(join(dir, 'rootfs'));
      const made = await prepareStepMounts({ root: dir, runRoot: dir }, join(dir, 'rootfs'), join(dir, 'mounts'), [{ type: 'ssh', target: '/run/agent', socket: join(dir, 'agent.sock'), uid: 0, gid: 0, mode: 0o600 }], new AbortController().signal);
      const socket = made.mounts[0]!.type === 'bind' ? made.mounts[0]!.source : '';
      try {
        expect((await stat(socket)).mode & 0o777).toBe(0o600);
        const answer = await new Promise<string>((resolve, reject) => {
          let text = '';
          connect(socket, function (this: import('node:net').Socket) {
            this.end('hello agent');
          })
            .on('data', (d: Buffer) => (text += d.toString()))
            .on('end', () => resolve(text))
            .on('error', reject);
        });
        expect(answer).toBe('HELLO AGENT');
      } finally {
        await made.release();
      }
      expect(existsSync(socket)).toBe(false);
    } finally {
      agent.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
