import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Every `examples/*.ts` walk-through runs to the end (each on a throwaway root) and shows what it claims. */
describe('examples', () => {
  const dir = join(__dirname, '..', 'examples');
  const quiet = (): void => undefined;
  // `require`, not `import()`: jest transforms required TypeScript without the ESM loader.
  const load = async (name: string): Promise<{ main(args?: string[], log?: (line: string) => void): Promise<unknown> }> => require(join(dir, `${name}.ts`));

  test('every example is covered here', () => {
    const names = readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
    expect(names).toEqual(['app-lifecycle', 'commit', 'compose', 'content-trust', 'create-start', 'hello-world', 'import-busybox', 'interactive', 'private-registry', 'save-load', 'swarm', 'volumes']);
  });

  test('hello-world prints the greeting and exits 0', async () => {
    const result = await (await load('hello-world')).main([], quiet);
    expect(result).toEqual({ exitCode: 0, output: [expect.stringContaining('Hello from ctr!')] });
  });

  test('app-lifecycle builds, runs detached, lists, logs, stops and removes', async () => {
    const result = (await (await load('app-lifecycle')).main([], quiet)) as { logs: string[]; listed: boolean; statusAfterStop: string };
    expect(result.listed).toBe(true);
    expect(result.logs[0]).toBe('app starting as myapp');
    expect(result.logs).toContain('tick');
    expect(result.statusAfterStop).toBe('exited');
  });

  test('compose brings up a built web service and a client that reaches it by name, then takes them down', async () => {
    const result = await (await load('compose')).main([], quiet);
    expect(result).toEqual({ served: 'hello from web', clientSaw: ['hello from web'], services: ['client', 'web'], afterDown: 0 });
  });

  test('swarm keeps the replicas of a service running behind the routing mesh, scales it and rolls an update over it', async () => {
    const result = (await (await load('swarm')).main([], quiet)) as { replicas: string[]; served: string[]; scaledTo: number; updated: string[]; afterRemove: number };
    expect(result.replicas).toEqual(['web.1', 'web.2']);
    expect(result.served).toHaveLength(2);
    for (const line of result.served) expect(line).toMatch(/^hello from [0-9a-f]{12}$/);
    expect(result.scaledTo).toBe(3);
    expect(result.updated).toEqual(['bonjour']);
    expect(result.afterRemove).toBe(0);
  });

  test('create-start creates a container that runs only when started', async () => {
    const result = (await (await load('create-start')).main([], quiet)) as { stateBefore: string; output: string[]; exitCode: number };
    expect(result).toEqual({ stateBefore: 'created', output: [expect.stringMatching(/^started at last: [0-9a-f]{12}$/)], exitCode: 0 });
  });

  test('interactive pipes commands into a shell and returns its exit code', async () => {
    const result = await (await load('interactive')).main([], quiet);
    expect(result).toEqual({ output: ['hello from an interactive shell', '/etc', '42'], exitCode: 4 });
  });

  test('save-load moves an image between two engines through an archive', async () => {
    const result = await (await load('save-load')).main([], quiet);
    expect(result).toEqual({ loaded: ['Loaded image: shared/app:1.0'], output: ['made on the first engine'] });
  });

  test('commit turns a container change into an image', async () => {
    const result = (await (await load('commit')).main([], quiet)) as { imageId: string; changes: string[]; output: string[] };
    expect(result.changes).toEqual(['A /srv', 'A /srv/note']);
    expect(result.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(result.output).toEqual(['state saved by commit']);
  });

  test('volumes keep data after the container that wrote it is gone', async () => {
    const result = await (await load('volumes')).main([], quiet);
    expect(result).toEqual({ output: ['written by the first container'], volumes: ['notes'] });
  });

  test('private-registry pushes to and pulls from a registry on 127.0.0.1', async () => {
    const result = (await (await load('private-registry')).main([], quiet)) as { pushed: string; pulled: string; output: string[] };
    expect(result.pushed).toMatch(/^sha256:/);
    expect(result.pulled).toMatch(/^sha256:/);
    expect(result.output).toEqual(['running the pulled image']);
  });

  test('content-trust signs a pushed tag, runs it by its signed digest and refuses an unsigned one', async () => {
    const result = (await (await load('content-trust')).main([], quiet)) as { signed: string; resolved: string; output: string[]; unsigned: string };
    expect(result.resolved).toBe(result.signed);
    expect(result.output).toEqual(['running the signed image']);
    expect(result.unsigned).toMatch(/^Error: remote trust data does not exist for 127\.0\.0\.1:\d+\/tools\/unsigned/);
  });

  test('import-busybox makes an image with @ctr/image alone', async () => {
    const out = await mkdtemp(join(tmpdir(), 'ctr-example-import-'));
    try {
      const result = (await (await load('import-busybox')).main([out], quiet)) as { imageId: string };
      expect(result.imageId).toMatch(/^sha256:/);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
