// docker save / docker load through @ctr/image against GNU tar writing and extracting the
// same archive (the floor: tar moves the bytes and checks nothing; ctr also hashes every
// blob and verifies it). Image: three uncompressed layers of random files, ~96 MiB, as a
// classic docker archive holds them. Everything lives in /dev/shm so the disk does not
// dominate. Headline: ctr load ÷ `tar -xf` of the same archive.
'use strict';
const { execFileSync } = require('node:child_process');
const { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { randomBytes } = require('node:crypto');
const { join } = require('node:path');
const { Readable } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const {
  appendLayer, createImageConfig, createManifest, loadArchive, MediaTypes, OciLayout, saveArchive,
  serializeImageConfig, serializeManifest,
} = require('@ctr/image');

const ROUNDS = 5;
const LAYERS = 3;
const FILES_PER_LAYER = 64;
const FILE_BYTES = 512 * 1024;

async function seconds(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function makeImage(work, layout) {
  let config = createImageConfig({ platform: { os: 'linux', architecture: 'amd64' }, created: '2026-01-01T00:00:00Z' });
  const layers = [];
  for (let l = 0; l < LAYERS; l++) {
    const dir = join(work, `layer${l}`);
    mkdirSync(join(dir, `d${l}`), { recursive: true });
    for (let f = 0; f < FILES_PER_LAYER; f++) writeFileSync(join(dir, `d${l}`, `f${f}`), randomBytes(FILE_BYTES));
    const tarFile = join(work, `layer${l}.tar`);
    execFileSync('tar', ['-cf', tarFile, '-C', dir, '.']);
    const info = await layout.write(createReadStream(tarFile));
    layers.push({ mediaType: MediaTypes.ociLayer, digest: info.digest, size: info.size });
    config = appendLayer(config, info.digest, { created_by: 'bench' });
  }
  const configDoc = serializeImageConfig(config);
  await layout.write(Readable.from([configDoc.bytes]));
  const manifest = serializeManifest(createManifest({ config: configDoc.descriptor, layers }));
  await layout.write(Readable.from([manifest.bytes]));
  return manifest.descriptor;
}

async function main() {
  const work = mkdtempSync('/dev/shm/ctr-bench-archive-');
  try {
    const source = await OciLayout.open(join(work, 'source'), { create: true });
    const descriptor = await makeImage(work, source);
    const archive = join(work, 'image.tar');
    const times = { ctrSave: [], tarCreate: [], ctrLoad: [], tarExtract: [] };
    for (let round = 0; round < ROUNDS; round++) {
      rmSync(archive, { force: true });
      times.ctrSave.push(await seconds(() => pipeline(saveArchive(source, [{ descriptor, names: ['bench:latest'] }]), createWriteStream(archive))));
      const tarOut = join(work, `tar-${round}.tar`);
      times.tarCreate.push(await seconds(async () => execFileSync('tar', ['-cf', tarOut, '-C', source.dir, '.'])));
      rmSync(tarOut);

      const target = await OciLayout.open(join(work, `target-${round}`), { create: true });
      times.ctrLoad.push(await seconds(() => loadArchive(target, createReadStream(archive, { highWaterMark: 1 << 20 }))));
      rmSync(target.dir, { recursive: true });
      const extractDir = join(work, `extract-${round}`);
      mkdirSync(extractDir);
      times.tarExtract.push(await seconds(async () => execFileSync('tar', ['-xf', archive, '-C', extractDir])));
      rmSync(extractDir, { recursive: true });
    }
    const mib = (LAYERS * FILES_PER_LAYER * FILE_BYTES) / 2 ** 20;
    const line = (name, t) => console.log(`${name.padEnd(24)} ${(median(t) * 1000).toFixed(0).padStart(6)} ms  ${(mib / median(t)).toFixed(0).padStart(5)} MiB/s`);
    console.log(`image: ${LAYERS} layers, ${mib} MiB of files; median of ${ROUNDS} rounds, all on /dev/shm`);
    line('ctr saveArchive', times.ctrSave);
    line('tar -cf (layout dir)', times.tarCreate);
    line('ctr loadArchive', times.ctrLoad);
    line('tar -xf (same archive)', times.tarExtract);
    console.log(`save ratio ctr/tar: ${(median(times.ctrSave) / median(times.tarCreate)).toFixed(2)}`);
    console.log(`ratio=${(median(times.ctrLoad) / median(times.tarExtract)).toFixed(2)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
