#!/usr/bin/env node
// `npm run bench -- pull`: ctr pull vs `skopeo copy docker://… oci:…` of the same multi-layer
// image, from the Debian `docker-registry` on 127.0.0.1, into an empty store each round (the
// two alternate which goes first). Both verify every blob and fsync it before it is visible.
// Prints per-round timings, medians with their spread, the unpack into snapshots measured on
// its own (not in the ratio: skopeo does not unpack), then `ratio=<median ctr / median skopeo>`.
// BENCH_ROUNDS (default 5), BENCH_CONCURRENCY (ctr's maxConcurrentDownloads, default 3).
'use strict';
const { execFile, spawn } = require('node:child_process');
const fs = require('node:fs/promises');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');
const { layerCompression } = require('@ctr/image');
const { RegistryClient } = require('@ctr/registry');
const { openStore } = require('@ctr/store');

const run = promisify(execFile);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 5);
const CACHE = process.env.CTR_BENCH_CACHE || path.join(os.tmpdir(), 'ctr-bench-cache');
// Host directories that become the image's layers (about 60 MB compressed together).
const LAYER_SOURCES = ['/usr/share/perl', '/usr/lib/python3.11', '/usr/lib/python3', '/usr/share/locale'];

async function buildImage() {
  const layout = path.join(CACHE, 'pull-image');
  try {
    await fs.access(path.join(layout, 'index.json'));
    return layout;
  } catch {}
  await fs.mkdir(CACHE, { recursive: true });
  const temp = `${layout}.tmp-${process.pid}`;
  await run('umoci', ['init', '--layout', temp]);
  await run('umoci', ['new', '--image', `${temp}:latest`]);
  await run('umoci', ['insert', '--image', `${temp}:latest`, '/bin/busybox', '/bin/busybox']);
  for (const dir of LAYER_SOURCES) {
    await fs.access(dir);
    await run('umoci', ['insert', '--image', `${temp}:latest`, dir, dir], { maxBuffer: 64 << 20 });
  }
  await fs.rename(temp, layout);
  return layout;
}

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startDockerRegistry(root) {
  const port = await freePort();
  const config = path.join(root, 'config.yml');
  await fs.writeFile(config, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(root, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const child = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: 'ignore' });
  const deadline = Date.now() + 15000;
  for (;;) {
    if (child.exitCode !== null) throw new Error('docker-registry exited at start');
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.end(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error('docker-registry did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { host: `127.0.0.1:${port}`, stop: () => new Promise((resolve) => { child.once('exit', resolve); process.kill(child.pid, 'SIGTERM'); }) };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const spread = (values) => `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)} ms`;
const since = (start) => Number(process.hrtime.bigint() - start) / 1e6;

/** Unpack a pulled image into overlay snapshots, as the engine does after a pull. */
async function unpack(store, result) {
  const config = JSON.parse((await store.content.readBytes(result.config.digest)).toString('utf8'));
  const start = process.hrtime.bigint();
  await store.unpackLayers(result.layers.map((layer, i) => ({
    diffId: config.rootfs.diff_ids[i],
    compression: layerCompression(layer.mediaType) ?? 'gzip',
    read: () => store.content.read(layer.digest),
  })));
  return since(start);
}

async function main() {
  const layout = await buildImage();
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-bench-pull-'));
  const registry = await startDockerRegistry(work);
  try {
    const ref = `${registry.host}/bench/image:latest`;
    await run('skopeo', ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${ref}`]);
    const client = new RegistryClient({ credentials: {}, ...(process.env.BENCH_CONCURRENCY ? { maxConcurrentDownloads: Number(process.env.BENCH_CONCURRENCY) } : {}) });
    const ctr = [];
    const skopeo = [];
    let bytes = 0;
    let layers = 0;
    const pullWithCtr = async (round) => {
      const storeRoot = path.join(work, `ctr-${round}`);
      const start = process.hrtime.bigint();
      const store = await openStore({ root: storeRoot });
      const result = await client.pull(ref, { store: store.content });
      ctr.push(since(start));
      layers = result.layers.length;
      bytes = result.layers.reduce((sum, l) => sum + l.size, result.config.size);
      return { store, storeRoot, result };
    };
    const copyWithSkopeo = async (round) => {
      const dest = path.join(work, `skopeo-${round}`);
      const start = process.hrtime.bigint();
      await run('skopeo', ['--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${dest}:latest`]);
      skopeo.push(since(start));
      await fs.rm(dest, { recursive: true, force: true });
    };
    let last;
    for (let round = 1; round <= ROUNDS; round += 1) {
      if (round % 2 === 1) {
        last = await pullWithCtr(round);
        await copyWithSkopeo(round);
      } else {
        await copyWithSkopeo(round);
        last = await pullWithCtr(round);
      }
      console.log(`round ${round}: ctr pull ${ctr[round - 1].toFixed(0)} ms, skopeo copy ${skopeo[round - 1].toFixed(0)} ms`);
      if (round < ROUNDS) await fs.rm(last.storeRoot, { recursive: true, force: true });
    }
    await client.close();
    const unpackMs = await unpack(last.store, last.result);
    const mib = bytes / (1 << 20);
    console.log(`image: ${layers} layers, ${mib.toFixed(1)} MiB compressed, from docker-registry on loopback into an empty store`);
    console.log(`ctr pull:    median ${median(ctr).toFixed(0)} ms (${(mib / (median(ctr) / 1000)).toFixed(0)} MiB/s), spread ${spread(ctr)}`);
    console.log(`skopeo copy: median ${median(skopeo).toFixed(0)} ms (${(mib / (median(skopeo) / 1000)).toFixed(0)} MiB/s), spread ${spread(skopeo)}`);
    console.log(`ctr unpack into overlay snapshots (apart, not in the ratio; last round's store): ${unpackMs.toFixed(0)} ms`);
    console.log(`ratio=${(median(ctr) / median(skopeo)).toFixed(3)}`);
  } finally {
    await registry.stop();
    await fs.rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
