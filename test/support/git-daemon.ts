import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port';

const execFileAsync = promisify(execFile);

/** `git` with an identity and no user or system configuration. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: cwd, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
  return (await execFileAsync('git', ['-c', 'init.defaultBranch=main', '-c', 'protocol.file.allow=always', ...args], { cwd, env })).stdout;
}

/** A `git daemon` on 127.0.0.1 serving the bare repositories under `base` (git://127.0.0.1:<port>/<name>.git). */
export interface GitDaemon {
  base: string;
  url(name: string): string;
  /** A bare repository `name.git` holding one commit per entry of `commits` (files by path), tags as named. */
  repository(name: string, commits: Array<{ files: Record<string, string>; tag?: string; submodule?: { path: string; url: string } }>): Promise<void>;
  stop(): Promise<void>;
}

export async function startGitDaemon(): Promise<GitDaemon> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-git-daemon-'));
  const port = await freePort();
  const child: ChildProcess = spawn('git', ['daemon', '--verbose', '--reuseaddr', '--export-all', '--informative-errors', '--listen=127.0.0.1', `--port=${port}`, `--base-path=${base}`, base], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('Ready to rumble')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`git daemon exited (${code}): ${seen}`)));
  });
  const url = (name: string): string => `git://127.0.0.1:${port}/${name}.git`;
  return {
    base,
    url,
    async repository(name, commits) {
      const bare = path.join(base, `${name}.git`);
      const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-git-work-'));
      try {
        await git(base, 'init', '--quiet', '--bare', bare);
        await git(work, 'init', '--quiet');
        for (const [i, commit] of commits.entries()) {
          for (const [file, content] of Object.entries(commit.files)) {
            await fs.mkdir(path.dirname(path.join(work, file)), { recursive: true });
            await fs.writeFile(path.join(work, file), content);
          }
          if (commit.submodule) await git(work, 'submodule', '--quiet', 'add', commit.submodule.url, commit.submodule.path);
          await git(work, 'add', '-A');
          await git(work, 'commit', '--quiet', '-m', `commit ${i}`);
          if (commit.tag) await git(work, 'tag', commit.tag);
        }
        await git(work, 'push', '--quiet', '--tags', bare, 'main');
      } finally {
        await fs.rm(work, { recursive: true, force: true });
      }
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill();
        await exited;
      }
      await fs.rm(base, { recursive: true, force: true });
    },
  };
}
