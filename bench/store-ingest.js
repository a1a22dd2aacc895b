#!/usr/bin/env node
// Content-store ingest vs the floor a shell would pay for the same guarantees:
// `sha256sum` + `cp` + `sync -f` of one file on the same disk. Also prints lock and lookup
// costs (the hot path takes no lock). Usage: npm run bench -- store-ingest [MiB] [dir]
'use strict';
const { execFileSync } = require('node:child_process');
const { createReadStream, mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { randomBytes } = require('node:crypto');
const { openStore, withLock } = require('@ctr/store');

const mib = Number(process.argv[2] ?? 256);
const base = process.argv[3] ?? os.tmpdir();

async function timed(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function main() {
  const dir = mkdtempSync(path.join(base, 'ctr-bench-store-'));
  try {
    const source = path.join(dir, 'source.bin');
    const chunk = randomBytes(1024 * 1024);
    writeFileSync(source, Buffer.concat(Array.from({ length: mib }, () => chunk)));
    execFileSync('sync', ['-f', source]);

    const store = await openStore({ root: path.join(dir, 'store') });
    const ours = await timed(() => store.content.write(createReadStream(source, { highWaterMark: 1024 * 1024 })));
    const floor = await timed(async () => {
      execFileSync('sha256sum', [source]);
      execFileSync('cp', [source, path.join(dir, 'copy.bin')]);
      execFileSync('sync', ['-f', path.join(dir, 'copy.bin')]);
    });
    console.log(`ingest ${mib} MiB: store ${ours.toFixed(0)} ms (${((mib / ours) * 1000).toFixed(0)} MiB/s), sha256sum+cp+sync ${floor.toFixed(0)} ms`);

    const n = 2000;
    const lockFile = path.join(dir, 'bench.lock');
    const lockMs = await timed(async () => {
      for (let i = 0; i < n; i++) await withLock(lockFile, async () => undefined);
    });
    const flockMs = await timed(async () => {
      for (let i = 0; i < 200; i++) execFileSync('flock', [lockFile + '.f', 'true']);
    });
    console.log(`lock+unlock: symlink(2) lock ${((lockMs / n) * 1000).toFixed(0)} µs, flock(1) binary ${((flockMs / 200) * 1000).toFixed(0)} µs`);

    const manifest = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 1 };
    for (let i = 0; i < 200; i++) {
      await store.images.put(`localhost/bench:${i}`, { id: `sha256:${i.toString(16).padStart(64, '0')}`, target: manifest });
    }
    const lookups = 5000;
    const resolveMs = await timed(async () => {
      for (let i = 0; i < lookups; i++) await store.images.resolve(`localhost/bench:${i % 200}`);
    });
    console.log(`image resolve (200 images, no lock): ${((resolveMs / lookups) * 1000).toFixed(0)} µs`);
    console.log(`ratio=${(ours / floor).toFixed(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
