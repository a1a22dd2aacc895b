import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as ts from 'typescript';
import { Engine } from '@ctr/engine';
import { NetworkManager } from '@ctr/network';

const run = promisify(execFile);
const repo = join(__dirname, '..');

/** The README's TypeScript example, as a function that runs it. */
async function readmeExample(): Promise<(require: NodeRequire) => Promise<void>> {
  const readme = await readFile(join(repo, 'README.md'), 'utf8');
  const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!code) throw new Error('README has no ```ts example');
  const imports = code.split('\n').filter((l) => l.startsWith('import '));
  const body = code.split('\n').filter((l) => !l.startsWith('import '));
  const source = `${imports.join('\n')}\nexport async function main(): Promise<void> {\n${body.join('\n')}\n}\n`;
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  return async (req) => {
    const module = { exports: {} as { main?: () => Promise<void> } };
    new Function('require', 'module', 'exports', js)(req, module, module.exports);
    await module.exports.main?.();
  };
}

describe('the README', () => {
  let root: string;
  let runRoot: string;
  const saved = { root: process.env.CTR_ROOT, runRoot: process.env.CTR_RUNROOT, cwd: process.cwd() };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ctr-readme-'));
    runRoot = await mkdtemp(join(tmpdir(), 'ctr-readme-run-'));
    process.env.CTR_ROOT = root;
    process.env.CTR_RUNROOT = runRoot;
    process.chdir(repo);
    await new Engine().importBusybox();
  });

  afterAll(async () => {
    const engine = new Engine();
    for (const c of await engine.ps({ all: true })) await engine.remove(c.Id, { force: true });
    await engine.removeNetwork('readme-net').catch(() => undefined);
    await new NetworkManager({ root, runRoot }).gc();
    process.env.CTR_ROOT = saved.root;
    process.env.CTR_RUNROOT = saved.runRoot;
    if (saved.root === undefined) delete process.env.CTR_ROOT;
    if (saved.runRoot === undefined) delete process.env.CTR_RUNROOT;
    process.chdir(saved.cwd);
    await rm(root, { recursive: true, force: true });
    await rm(runRoot, { recursive: true, force: true });
  });

  test('its library example builds, runs, serves and cleans up', async () => {
    const example = await readmeExample();
    const lines: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await example(require);
    } finally {
      log.mockRestore();
      write.mockRestore();
    }
    expect(lines).toContain('stdout serving');
    expect(await new Engine().ps({ all: true })).toEqual([]);
  });

  test('its demo command builds examples/hello and prints the greeting', async () => {
    const ctr = (...args: string[]) => run(join(repo, 'packages/cli/bin/ctr'), args, { env: { ...process.env } });
    await ctr('build', '-t', 'hello', 'examples/hello');
    const { stdout } = await ctr('run', '--rm', '--network', 'none', 'hello');
    expect(stdout).toBe('Hello from a ctr container!\nHello, world — built by ctr from a Dockerfile\n');
  });
});
