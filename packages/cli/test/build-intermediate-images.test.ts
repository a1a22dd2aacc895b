import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

/**
 * What a user of docker's classic builder sees of its intermediate images: ` ---> <id>` after
 * every step, `images -a`, `history`'s IMAGE column and `rmi`'s Deleted lines (real runc,
 * conmon and overlayfs).
 */
describe("ctr build: the classic builder's intermediate images, as the CLI shows them", () => {
  let local: LocalCtr;
  let context: string;
  const ctr = (...args: string[]): Promise<CtrResult> => local.run(...args);
  const ID = '[0-9a-f]{12}';
  /** The 12-character IDs of ` ---> <id>` lines, in order. */
  const stepImages = (output: string): string[] => [...output.matchAll(new RegExp(`^ ---> (${ID})$`, 'gm'))].map((m) => m[1] as string);

  beforeAll(async () => {
    local = await localCtr('build-intermediate');
    context = await mkdtemp(join(tmpdir(), 'ctr-cli-build-intermediate-'));
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nENV X=1\nRUN echo hi > /f\nCMD ["cat", "/f"]\n');
  });
  afterAll(async () => {
    await rm(context, { recursive: true, force: true });
    await local?.cleanup();
  });

  // The lines around each ` ---> <id>` (a metadata step's container, `Using cache`) are build-classic-output's.
  test("every step's image is printed once, the last is the build's, and a cached rebuild prints the same ones", async () => {
    const first = (await ctr('build', '--no-cache', '-t', 'steps/app', context)).stdout;
    const built = stepImages(first);
    expect(built).toHaveLength(4);
    expect(first).toContain(`Successfully built ${built[3]}\n`);
    expect(stepImages((await ctr('build', '-t', 'steps/app', context)).stdout)).toEqual(built);
  });

  test('images hides the intermediate images, images -a shows them as <none>, history names them', async () => {
    const built = stepImages((await ctr('build', '-t', 'steps/app', context)).stdout);
    const shown = (await ctr('images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}')).stdout;
    expect(shown).not.toContain(built[1]);
    const all = (await ctr('images', '-a', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}')).stdout.split('\n');
    for (const id of built.slice(1, 3)) expect(all).toContain(`<none>:<none> ${id}`);
    expect(all).toContain(`steps/app:latest ${built[3]}`);
    const history = (await ctr('history', '--format', '{{.ID}}', 'steps/app')).stdout;
    expect(history).toBe(`${[...built].reverse().join('\n')}\n`);
  });

  test('rmi of an intermediate image is refused in dockerd words; rmi of the build deletes the chain', async () => {
    const built = stepImages((await ctr('build', '-t', 'steps/app', context)).stdout);
    const refused = await ctr('rmi', built[2]!);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`conflict: unable to delete ${built[2]} (cannot be forced) - image has dependent child images`);
    const removed = await ctr('rmi', 'steps/app');
    expect(removed.code).toBe(0);
    const said = removed.stdout.split('\n').filter((l) => built.some((id) => l.startsWith(`Deleted: sha256:${id}`)));
    expect(said.map((l) => l.slice('Deleted: sha256:'.length, 'Deleted: sha256:'.length + 12))).toEqual([built[3], built[2], built[1]]);
    expect(removed.stdout.split('\n')[0]).toBe('Untagged: steps/app:latest');
    const all = (await ctr('images', '-a', '-q')).stdout;
    for (const id of built.slice(1)) expect(all).not.toContain(id);
    expect(all).toContain(built[0]);
  });
});
