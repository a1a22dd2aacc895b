#!/usr/bin/env node
// unpackLayers (applyLayer into a fresh overlay snapshot, diffID check, flush, commit) vs
// `tar -xzf` + `sync -f` of the same gzip layer into an empty directory on the same disk.
// The layer is the apply-layer benchmark's (`.bench/apply-layer/usr-share.tar.gz`), made from
// /usr/share when absent. OUT_DIR=/dev/shm/… measures on tmpfs. Last line: ratio=<store/tar>.
'use strict';
const { execFileSync } = require('node:child_process');
const { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { createGunzip } = require('node:zlib');
const path = require('node:path');
const { openStore } = require('@ctr/store');

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const cache = path.join(__dirname, '..', '.bench', 'apply-layer');
const layer = path.join(cache, 'usr-share.tar.gz');
const outRoot = process.env.OUT_DIR ?? cache;

function ensureLayer() {
  if (existsSync(layer)) return;
  mkdirSync(cache, { recursive: true });
  const present = ['usr/share/perl', 'usr/share/vim', 'usr/share/zoneinfo', 'usr/share/mime'].filter((d) => existsSync(`/${d}`));
  execFileSync('tar', ['-czf', `${layer}.tmp`, '-C', '/', ...present]);
  execFileSync('mv', [`${layer}.tmp`, layer]);
}

async function diffIdOf(file) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file).pipe(createGunzip())) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

async function seconds(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  ensureLayer();
  const diffId = await diffIdOf(layer);
  const ours = [];
  const tar = [];
  for (let round = 0; round < ROUNDS; round++) {
    const dir = mkdtempSync(path.join(outRoot, 'store-unpack-'));
    try {
      execFileSync('sync');
      const store = await openStore({ root: path.join(dir, 'store') });
      ours.push(await seconds(() => store.unpackLayers([{ diffId, compression: 'gzip', read: async () => createReadStream(layer) }])));
      const out = path.join(dir, 'tar');
      mkdirSync(out);
      execFileSync('sync');
      tar.push(await seconds(() => execFileSync('sh', ['-c', `tar -xzf "${layer}" -C "${out}" && sync -f "${out}"`])));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`unpackLayers median ${median(ours).toFixed(2)} s, tar -xzf + sync -f median ${median(tar).toFixed(2)} s (${ROUNDS} rounds, ${outRoot})`);
  console.log(`ratio=${(median(ours) / median(tar)).toFixed(2)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
