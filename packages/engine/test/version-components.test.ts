/** `GET /version`'s Components after the engine: the programs ctr runs containers with, as dockerd lists its own. */
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, type ComponentVersion } from '@ctr/engine';
import { findInit } from '@ctr/runtime';
import { parseInitVersion, parseRuntimeVersion } from '../src/host-info';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-version-components-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function components(options: { runtimePath?: string; conmonPath?: string } = {}): Promise<ComponentVersion[]> {
  const engine = new Engine({ root: join(dir, 'root'), runRoot: join(dir, 'run'), ...options });
  try {
    return await engine.components();
  } finally {
    await engine.close();
  }
}

describe('reading a version', () => {
  test('runc --version gives the version and the commit line', () => {
    expect(parseRuntimeVersion('runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\nlibseccomp: 2.5.4\n')).toEqual({
      version: '1.1.5+ds1',
      commit: '1.1.5+ds1-1+deb12u1',
    });
  });

  test('conmon --version reads the same way', () => {
    expect(parseRuntimeVersion('conmon version 2.1.6\ncommit: unknown\n')).toEqual({ version: '2.1.6', commit: 'unknown' });
  });

  test("tini's version carries its git commit when built with one", () => {
    expect(parseInitVersion('tini version 0.18.0 - git.fec3683\n')).toEqual({ version: '0.18.0', commit: 'fec3683' });
    expect(parseInitVersion('tini version 0.19.0\n')).toEqual({ version: '0.19.0', commit: '' });
  });
});

test('conmon, runc and docker-init are listed with what the binaries on this host say, in moby\'s shape', async () => {
  const runc = /runc version (\S+)\ncommit: (\S+)/.exec(execFileSync('runc', ['--version']).toString());
  const conmon = /conmon version (\S+)\ncommit: (\S+)/.exec(execFileSync('conmon', ['--version']).toString());
  const tini = /tini version (\S+)/.exec(execFileSync(await findInit(), ['--version']).toString());
  expect(await components()).toEqual([
    { Name: 'conmon', Version: conmon?.[1], Details: { GitCommit: conmon?.[2] } },
    { Name: 'runc', Version: runc?.[1], Details: { GitCommit: runc?.[2] } },
    { Name: 'docker-init', Version: tini?.[1], Details: { GitCommit: '' } },
  ]);
});

test('a runtime that cannot be run is left out, as dockerd leaves out one it cannot ask', async () => {
  const listed = await components({ runtimePath: join(dir, 'no-such-runc') });
  expect(listed.map((c) => c.Name)).toEqual(['conmon', 'docker-init']);
});

test('each program is asked once per process, however many engines ask', async () => {
  const asked = join(dir, 'asked');
  const runtime = join(dir, 'counting-runc');
  await writeFile(runtime, `#!/bin/sh\necho asked >> ${asked}\nprintf 'runc version 9.9.9\\ncommit: c0ffee\\n'\n`);
  await chmod(runtime, 0o755);
  const first = await components({ runtimePath: runtime });
  const second = await components({ runtimePath: runtime });
  expect(first.find((c) => c.Name === 'runc')).toEqual({ Name: 'runc', Version: '9.9.9', Details: { GitCommit: 'c0ffee' } });
  expect(second).toEqual(first);
  expect((await readFile(asked, 'utf8')).split('\n').filter(Boolean)).toHaveLength(1);
});
