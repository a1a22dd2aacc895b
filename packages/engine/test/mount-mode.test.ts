import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEngine, type TestEngine } from './fixture';

/**
 * Inspect's `Mounts[].Mode` and `Config.Volumes` as dockerd gives them (moby daemon/volumes.go
 * registerMountPoints, create_unix.go, commit.go merge): a local named volume from Binds gets
 * `z` (setBindModeIfNull), an anonymous one from Config.Volumes none; Config.Volumes is the
 * posted one merged with the image's VOLUMEs, whatever binds cover.
 */
let t: TestEngine;
let work: string;
const IMAGE = 'mount-mode-vol:latest';
const NAMED = `mount-mode-${process.pid}`;

beforeAll(async () => {
  t = await testEngine();
  work = await mkdtemp(join(tmpdir(), 'ctr-mount-mode-'));
  await mkdir(join(work, 'context'));
  await writeFile(join(work, 'context', 'Dockerfile'), 'FROM busybox\nVOLUME /img\n');
  await t.engine.build({ context: join(work, 'context'), tags: [IMAGE], network: 'none' });
}, 120_000);

afterAll(async () => {
  for (const c of (await t?.engine.ps({ all: true })) ?? []) await t.engine.remove(c.Id, { force: true, volumes: true }).catch(() => undefined);
  await t?.cleanup();
  await rm(work, { recursive: true, force: true });
});

async function created(options: { image?: string; volumes?: string[]; configVolumes?: string[] }): Promise<Awaited<ReturnType<TestEngine['engine']['inspect']>>> {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', ...options });
  return t.engine.inspect(id);
}

const modeAt = (inspect: Awaited<ReturnType<TestEngine['engine']['inspect']>>, target: string): string | undefined => inspect.Mounts.find((m) => m.Destination === target)?.Mode;

describe('Mounts Mode', () => {
  test('an anonymous -v volume has no mode', async () => {
    expect(modeAt(await created({ volumes: ['/anon2'] }), '/anon2')).toBe('');
  });

  test("an image VOLUME's anonymous volume has no mode", async () => {
    expect(modeAt(await created({ image: IMAGE }), '/img')).toBe('');
  });

  test('a named -v volume has z', async () => {
    expect(modeAt(await created({ volumes: [`${NAMED}:/named`] }), '/named')).toBe('z');
  });
});

describe('Config.Volumes', () => {
  test('is the anonymous -v targets when none is posted, as docker run sends them', async () => {
    expect((await created({ volumes: ['/anon', `${NAMED}:/named`] })).Config.Volumes).toEqual({ '/anon': {} });
  });

  test('keeps posted targets that binds cover, as docker-compose posts them', async () => {
    const inspect = await created({ volumes: [`${work}:/html`, `${NAMED}:/named`, '/anon'], configVolumes: ['/anon', '/html', '/named'] });
    expect(inspect.Config.Volumes).toEqual({ '/anon': {}, '/html': {}, '/named': {} });
    expect(inspect.Mounts.filter((m) => m.Type === 'volume' && m.Name !== NAMED).map((m) => m.Destination)).toEqual(['/anon']);
  });

  test("merges the image's VOLUMEs into the posted ones", async () => {
    expect((await created({ image: IMAGE, configVolumes: ['/anon'], volumes: ['/anon'] })).Config.Volumes).toEqual({ '/anon': {}, '/img': {} });
  });

  test('keeps an image VOLUME that a bind covers', async () => {
    expect((await created({ image: IMAGE, volumes: [`${NAMED}:/img`] })).Config.Volumes).toEqual({ '/img': {} });
  });

  test('is null with no volumes', async () => {
    expect((await created({})).Config.Volumes).toBeNull();
  });
});
