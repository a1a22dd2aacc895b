/**
 * What the real docker CLI shows of RepoDigests, of a compressed `docker load`, and of
 * `system df`'s shared sizes, against ctrd and ctr's registry server on 127.0.0.1: the CI
 * idioms `docker inspect --format '{{index .RepoDigests 0}}'` and `docker images --digests`,
 * `docker rmi repo@sha256:…`, `docker save | gzip` loaded back, and df's SHARED/UNIQUE SIZE.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer } from '@ctr/registry';
import { docker, useTestDaemon } from './fixture';

const t = useTestDaemon();
let work: string;
let registry: RegistryServer;
let name: string;
let repo: string;
/** The digest `docker push` printed for `name`. */
let digest: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-api-repo-digests-'));
  registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry') });
  await registry.listen();
  repo = `${registry.host}/api/app`;
  name = `${repo}:1`;
  expect((await docker(t.env, ['tag', 'busybox', name])).code).toBe(0);
  const push = await docker(t.env, ['push', name]);
  expect(push.code).toBe(0);
  digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1] ?? '';
}, 60_000);

afterAll(async () => {
  await registry?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

async function stdout(args: string[]): Promise<string> {
  const run = await docker(t.env, args);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return run.stdout;
}

test("after a push, `docker inspect --format '{{index .RepoDigests 0}}'` is the repository at the pushed digest", async () => {
  expect(await stdout(['inspect', '--format', '{{index .RepoDigests 0}}', name])).toBe(`${repo}@${digest}\n`);
});

describe('an image pulled by tag', () => {
  beforeAll(async () => {
    expect((await docker(t.env, ['rmi', name])).code).toBe(0);
    expect((await docker(t.env, ['pull', name])).code).toBe(0);
  });

  test('`docker images --digests` shows its digest in the DIGEST column', async () => {
    const table = await stdout(['images', '--digests', repo]);
    expect(table.split('\n')[1]).toMatch(new RegExp(`^${repo}\\s+1\\s+${digest}\\s+[0-9a-f]{12}\\s`));
  });

  test("`docker images --format '{{.Digest}}'` prints the digest", async () => {
    expect(await stdout(['images', '--format', '{{.Digest}}', name])).toBe(`${digest}\n`);
  });

  test('`docker images repo@sha256:…` lists it by that digest', async () => {
    expect(await stdout(['images', '--format', '{{.Repository}} {{.Tag}} {{.ID}}', `${repo}@${digest}`])).toMatch(new RegExp(`^${repo} <none> [0-9a-f]{12}\\n$`));
  });

  test('`docker rmi repo@sha256:…` untags the digest and keeps the tag', async () => {
    expect(await stdout(['rmi', `${repo}@${digest}`])).toBe(`Untagged: ${repo}@${digest}\n`);
    expect(await stdout(['inspect', '--format', '{{.RepoDigests}}', name])).toBe('[]\n');
  });
});

describe('docker load of a gzipped `docker save`', () => {
  let archive: string;
  beforeAll(async () => {
    const tar = join(work, 'busybox.tar');
    expect((await docker(t.env, ['save', '-o', tar, 'busybox'])).code).toBe(0);
    archive = `${tar}.gz`;
    await writeFile(archive, gzipSync(await readFile(tar)));
  });

  test('with -i loads the image', async () => {
    expect(await stdout(['load', '-i', archive])).toBe('Loaded image: busybox:latest\n');
  });

  test('on stdin loads the image', async () => {
    const run = await docker(t.env, ['load'], { input: await readFile(archive) });
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 0, stdout: 'Loaded image: busybox:latest\n' });
  });
});

describe('docker system df with a container using an image built on another', () => {
  const ADDED = 2_000_000;
  beforeAll(async () => {
    const context = join(work, 'derived');
    await mkdir(context, { recursive: true });
    await writeFile(join(context, 'f'), Buffer.alloc(ADDED, 1));
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nCOPY f /f\n');
    expect((await docker(t.env, ['build', '-q', '-t', 'df-derived:1', context])).code).toBe(0);
    expect((await docker(t.env, ['create', '--network', 'none', 'df-derived:1', 'true'])).code).toBe(0);
    // df -v shows an image by its first tag: busybox keeps only its own.
    expect((await docker(t.env, ['rmi', name])).code).toBe(0);
  }, 60_000);

  /** `system df -v`'s image rows, by repository: SHARED SIZE, UNIQUE SIZE and CONTAINERS. */
  async function imageRows(): Promise<Map<string, string>> {
    const text = await stdout(['system', 'df', '-v', '--format', '{{range .Images}}{{.Repository}}|{{.SharedSize}} {{.UniqueSize}} {{.Containers}}\n{{end}}']);
    return new Map(text.trim().split('\n').map((line) => line.split('|') as [string, string]));
  }

  test('-v shows busybox shared whole, and the image built on it sharing busybox and holding its own layer, with its container', async () => {
    const rows = await imageRows();
    const busyboxShared = rows.get('busybox')?.split(' ')[0];
    expect(rows.get('busybox')).toBe(`${busyboxShared} 0B 0`);
    expect(rows.get('df-derived')).toBe(`${busyboxShared} 2MB 1`);
  });

  test('Images RECLAIMABLE leaves out what only the image in use holds', async () => {
    const busybox = Number(await stdout(['image', 'inspect', '--format', '{{.Size}}', 'busybox']));
    const busyboxShared = (await imageRows()).get('busybox')?.split(' ')[0];
    const images = (await stdout(['system', 'df', '--format', '{{.Type}}|{{.Active}}|{{.Reclaimable}}'])).split('\n').find((l) => l.startsWith('Images|'));
    expect(images).toBe(`Images|1|${busyboxShared} (${Math.floor((busybox * 100) / (busybox + ADDED))}%)`);
  });
});
