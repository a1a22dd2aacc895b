import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { build, type RunMount, type RunStep } from '@ctr/dockerfile';
import { busybox, DirBackend, fakeShell, makeContext } from './helpers/dir-backend';

/**
 * What the builder makes of `RUN --mount` before a backend runs anything: BuildKit's flag
 * checks, defaults, sources confined to their roots, and cache keys. The engine's tests
 * (packages/engine/test/build-run-mount.test.ts) run the mounts for real.
 */

let backend: DirBackend;
let context: string;
/** What each RUN got, with the files its bind sources held while it ran. */
let seen: Array<{ step: RunStep; files: Record<string, string[]> }>;

async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    out.push(entry.name);
    if (entry.isDirectory()) out.push(...(await listing(path.join(dir, entry.name))).map((n) => `${entry.name}/${n}`));
  }
  return out;
}

beforeEach(async () => {
  seen = [];
  backend = await DirBackend.create({ busybox }, async (step, root, io) => {
    const files: Record<string, string[]> = {};
    for (const m of step.mounts ?? []) if (m.type === 'bind') files[m.target] = (await fs.stat(m.source)).isDirectory() ? await listing(m.source) : [await fs.readFile(m.source, 'utf8')];
    seen.push({ step, files });
    return fakeShell(step, root, io);
  });
  context = await makeContext({ 'src/a.go': 'package a\n', 'src/b.go': 'package b\n', 'src/skip.log': 'noise\n', 'go.mod': 'module x\n' });
});
afterEach(async () => {
  await backend.dispose();
  await fs.rm(context, { recursive: true, force: true });
});

const run = (dockerfile: string, more: Partial<Parameters<typeof build>[0]> = {}): ReturnType<typeof build> =>
  build({ backend, context, dockerfileContent: dockerfile, ...more });

const mounts = (i = 0): RunMount[] => seen[i]!.step.mounts ?? [];

describe('RUN --mount flags, as BuildKit checks them', () => {
  it.each([
    ['type=bnd,target=/x', 'unsupported mount type "bnd" (did you mean bind?)'],
    ['type=bind,target=/x,mode=0644', 'mode not allowed for "bind" type mounts'],
    ['type=cache,target=/x,required', "unexpected key 'required' for mount type 'cache'"],
    ['type=bind,target=/x,size=1m', "unexpected key 'size' for mount type 'bind'"],
    ['type=bind,target=/x,sharing=locked', 'invalid cache sharing set for bind mount'],
    ['type=cache,target=/x,sharing=privat', 'unsupported sharing value "privat" (did you mean private?)'],
    ['type=secret,id=a,from=base', 'secret mount should not have a from'],
    ['type=secret,id=a,source=b', "both source and id can't be set"],
    ['type=bind,target=/x,from=$STAGE', "'from' doesn't support variable expansion, define alias stage instead"],
    ['type=bind,target=/x,bogus', "invalid field 'bogus' must be a key=value pair"],
    ['type=bind,targt=/x', "unexpected key 'targt' in 'targt=/x' (did you mean target?)"],
    ['type=cache,target=/x,uid=-1', 'invalid value -1 for uid'],
    ['type=bind,target=/', 'invalid mount target "/"'],
    ['type=tmpfs', 'type=tmpfs mount needs a target (target=<path in the container>)'],
    ['type=ssh,source=/k', 'ssh does not support source'],
  ])('--mount=%s is refused at its line: %s', async (flag, reason) => {
    await expect(run(`FROM busybox\n\nRUN --mount=${flag} true\n`)).rejects.toMatchObject({ reason, line: 3, code: 'InvalidArgument' });
    expect(seen).toHaveLength(0);
  });

  it('expands variables in values, and reads quoted CSV fields', async () => {
    await run(`FROM busybox\nARG DIR=/cache\nWORKDIR /w\nRUN --mount='type=cache,"target=\${DIR}/go,x",id=go-$DIR' true\nRUN --mount=type=tmpfs,target=rel true\n`);
    expect(mounts(0)).toMatchObject([{ type: 'cache', target: '/cache/go,x', id: 'go-/cache', sharing: 'shared', readOnly: false, uid: 0, gid: 0, mode: 0o755 }]);
    expect(mounts(1)).toEqual([{ type: 'tmpfs', target: '/w/rel' }]);
  });
});

describe('RUN --mount=type=bind', () => {
  it('lends the context read-only by default, without what .dockerignore hides', async () => {
    await fs.writeFile(path.join(context, '.dockerignore'), '*.log\n**/*.log\n');
    await run('FROM busybox\nRUN --mount=target=/in,source=src true\nRUN --mount=type=bind,source=go.mod,target=/go.mod,rw true\n');
    expect(mounts(0)).toMatchObject([{ type: 'bind', target: '/in', readOnly: true }]);
    expect(seen[0]!.files['/in']).toEqual(['a.go', 'b.go']);
    expect(mounts(1)).toMatchObject([{ type: 'bind', target: '/go.mod', readOnly: false }]);
    expect(seen[1]!.files['/go.mod']).toEqual(['module x\n']);
  });

  it('keeps sources inside the context: `..` stops at its root and symlinks are re-rooted in it', async () => {
    await fs.symlink('/', path.join(context, 'host'));
    await run('FROM busybox\nRUN --mount=source=../../..,target=/a --mount=source=host/src,target=/b true\n');
    const real = await fs.realpath(context);
    for (const m of mounts(0)) expect(m.type === 'bind' && (m.source === real || m.source.startsWith(`${real}/`))).toBe(true);
    expect(seen[0]!.files['/b']).toEqual(['a.go', 'b.go', 'skip.log']);
  });

  it('fails as BuildKit does when the source is not in the context', async () => {
    await expect(run('FROM busybox\nRUN --mount=source=nope,target=/x true\n')).rejects.toMatchObject({ code: 'NotFound', message: 'failed to compute cache key: "/nope": not found' });
  });

  it('lends a stage only a mount names, building it (and not the stages nobody needs)', async () => {
    const events: string[] = [];
    await run('FROM busybox AS tools\nRUN echo built > /made\nFROM busybox AS unused\nRUN true\nFROM busybox\nRUN --mount=from=tools,source=/made,target=/m true\n', {
      onEvent: (e) => void (e.type === 'stage-skipped' && events.push(`skipped ${e.name}`)),
    });
    expect(events).toEqual(['skipped unused']);
    expect(seen[seen.length - 1]!.files['/m']).toEqual(['built\n']);
  });
});

describe("RUN --mount and the step's cache", () => {
  const dockerfile = 'FROM busybox\nRUN --mount=source=src,target=/in true\n';

  it('a changed bind source runs the step again; a touched one does not', async () => {
    await run(dockerfile);
    await fs.utimes(path.join(context, 'src/a.go'), new Date(1), new Date(1));
    await run(dockerfile);
    expect(seen).toHaveLength(1);
    await fs.writeFile(path.join(context, 'src/a.go'), 'package changed\n');
    await run(dockerfile);
    expect(seen).toHaveLength(2);
  });

  it('a changed mount definition runs the step again', async () => {
    await run(dockerfile);
    await run('FROM busybox\nRUN --mount=source=src,target=/elsewhere true\n');
    await run('FROM busybox\nRUN --mount=type=cache,target=/in true\n');
    expect(seen).toHaveLength(3);
  });

  it("a changed secret's content does not", async () => {
    const withSecret = 'FROM busybox\nRUN --mount=type=secret,id=token true\n';
    await run(withSecret, { secrets: { token: Buffer.from('one') } });
    await run(withSecret, { secrets: { token: Buffer.from('two') } });
    expect(seen).toHaveLength(1);
  });
});

describe('RUN --mount=type=secret and type=ssh', () => {
  it('mounts a secret at /run/secrets/<id> with mode 0400, or where and how it is asked', async () => {
    await run('FROM busybox\nWORKDIR /w\nRUN --mount=type=secret,id=token --mount=type=secret,source=token,target=t,uid=5,mode=0440 true\n', { secrets: { token: Buffer.from('s3') } });
    expect(mounts(0)).toEqual([
      { type: 'secret', target: '/run/secrets/token', data: Buffer.from('s3'), uid: 0, gid: 0, mode: 0o400 },
      { type: 'secret', target: '/w/t', data: Buffer.from('s3'), uid: 5, gid: 0, mode: 0o440 },
    ]);
  });

  it('gives an env= secret to the backend as a variable only, a mount without a target, never in the step\'s env or the history', async () => {
    const { id } = await run('FROM busybox\nRUN --mount=type=secret,id=token,env=TOKEN true\n', { secrets: { token: Buffer.from('s3') } });
    expect(mounts(0)).toEqual([{ type: 'secret', env: 'TOKEN', data: Buffer.from('s3'), uid: 0, gid: 0, mode: 0o400 }]);
    expect(seen[0]!.step.env.join('\n')).not.toContain('s3');
    expect(JSON.stringify(backend.image(id).spec)).not.toContain('s3');
  });

  it('gives a secret with env= and a target as both, in one mount', async () => {
    await run('FROM busybox\nRUN --mount=type=secret,id=token,env=TOKEN,target=/t true\n', { secrets: { token: Buffer.from('s3') } });
    expect(mounts(0)).toEqual([{ type: 'secret', target: '/t', env: 'TOKEN', data: Buffer.from('s3'), uid: 0, gid: 0, mode: 0o400 }]);
  });

  it('fails on a required secret nobody passed, in BuildKit\'s words, and goes without an optional one', async () => {
    await expect(run('FROM busybox\nRUN --mount=type=secret,id=token,required true\n')).rejects.toMatchObject({ code: 'NotFound', message: 'secret token: not found' });
    await run('FROM busybox\nRUN --mount=type=secret,id=token true\n');
    expect(mounts(0)).toEqual([]);
  });

  it('forwards an ssh agent at /run/buildkit/ssh_agent.0 and points SSH_AUTH_SOCK at it', async () => {
    await run('FROM busybox\nRUN --mount=type=ssh true\n', { ssh: { default: '/agent.sock' } });
    expect(mounts(0)).toEqual([{ type: 'ssh', target: '/run/buildkit/ssh_agent.0', socket: '/agent.sock', uid: 0, gid: 0, mode: 0o600 }]);
    expect(seen[0]!.step.env).toContain('SSH_AUTH_SOCK=/run/buildkit/ssh_agent.0');
    await expect(run('FROM busybox\nRUN --mount=type=ssh,id=deploy,required true\n')).rejects.toMatchObject({ message: 'no SSH key "deploy" forwarded from the client' });
  });
});
