/**
 * `engine.pull('busybox')` through a docker.io registry mirror (Docker's registry-mirrors):
 * served by the mirror when it has the image, by the upstream when the mirror is down. The
 * upstream standing in for Docker Hub is a ctr registry on 127.0.0.1 (the registry option
 * `dockerHubEndpoint`), and a guard refuses every connection outside 127.0.0.0/8.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '@ctr/engine';
import { FaultProxy } from '../../registry/test/support/fault-proxy';
import { loopbackOnly, type LoopbackGuard } from '../../registry/test/support/loopback-only';
import { freePort } from '../../registry/test/support/processes';
import { startRegistry, type RunningRegistry } from '../../registry/test/support/servers';
import { testEngine, type TestEngine } from './fixture';

let guard: LoopbackGuard;
let source: TestEngine;
let pushed: string;
let mirror: RunningRegistry;
let upstream: RunningRegistry;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  guard = loopbackOnly();
  source = await testEngine();
  mirror = await startRegistry();
  upstream = await startRegistry();
  for (const registry of [mirror, upstream]) {
    await source.engine.tag('busybox', `${registry.host}/library/busybox:latest`);
    pushed = (await source.engine.push(`${registry.host}/library/busybox:latest`)).digest;
  }
});

afterAll(async () => {
  await mirror?.stop();
  await upstream?.stop();
  await source?.cleanup();
  guard.restore();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  expect(guard.refused).toEqual([]);
});

/** A request-recording front for a registry on 127.0.0.1. */
async function front(registry: RunningRegistry): Promise<FaultProxy> {
  const proxy = new FaultProxy(registry.url);
  await proxy.listen();
  cleanups.push(() => proxy.close());
  return proxy;
}

/** An engine on an empty root whose docker.io pulls go to `mirrors`, then to `hub`. */
async function engineWith(mirrors: string[], hub: string): Promise<Engine> {
  const root = await mkdtemp(join(tmpdir(), 'ctr-engine-mirror-'));
  const runRoot = await mkdtemp(join(tmpdir(), 'ctr-engine-mirror-run-'));
  cleanups.push(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(runRoot, { recursive: true, force: true });
  });
  return new Engine({ root, runRoot, registry: { credentials: {}, mirrors, dockerHubEndpoint: hub } });
}

test('engine.pull("busybox") is served by the docker.io mirror and names the image busybox:latest', async () => {
  const [viaMirror, viaUpstream] = [await front(mirror), await front(upstream)];
  const engine = await engineWith([`http://${viaMirror.host}`], `http://${viaUpstream.host}`);

  const image = await engine.pull('busybox');

  expect(image.record.target.digest).toBe(pushed);
  expect((await engine.images()).flatMap((i) => i.RepoTags)).toEqual(['busybox:latest']);
  expect(viaMirror.seen).toContainEqual({ method: 'GET', url: '/v2/library/busybox/manifests/latest' });
  expect(viaUpstream.seen).toEqual([]);
});

test('with the mirror down, engine.pull("busybox") falls back to the upstream', async () => {
  const viaUpstream = await front(upstream);
  const engine = await engineWith([`http://127.0.0.1:${await freePort()}`], `http://${viaUpstream.host}`);

  const image = await engine.pull('busybox:latest');

  expect(image.record.target.digest).toBe(pushed);
  expect(viaUpstream.seen).toContainEqual({ method: 'GET', url: '/v2/library/busybox/manifests/latest' });
  expect((await engine.inspectImage('busybox')).RepoTags).toEqual(['busybox:latest']);
});
