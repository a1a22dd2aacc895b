#!/usr/bin/env node
// applyLayer vs `tar -xzf`: the same real multi-thousand-file gzip layer (built once from the
// host's /usr/share and cached in .bench/), unpacked into an empty directory on the same disk,
// alternating rounds. Prints both medians; the last line is ratio=<ctr/tar>.
'use strict';
const { execFileSync } = require('node:child_process');
const { createReadStream, existsSync, mkdirSync, rmSync, statSync } = require('node:fs');
const path = require('node:path');
const { applyLayer } = require('@ctr/image');

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const cache = path.join(__dirname, '..', '.bench', 'apply-layer');
const layer = path.join(cache, 'usr-share.tar.gz');
const SOURCES = ['usr/share/perl', 'usr/share/vim', 'usr/share/cmake-3.25', 'usr/share/i18n', 'usr/share/zoneinfo', 'usr/share/mime'];

function buildLayer() {
  mkdirSync(cache, { recursive: true });
  if (existsSync(layer)) return;
  const present = SOURCES.filter((dir) => existsSync(`/${dir}`));
  if (present.length === 0) throw new Error('none of the /usr/share source directories exist on this host');
  execFileSync('tar', ['-czf', `${layer}.tmp`, '-C', '/', ...present]);
  execFileSync('mv', [`${layer}.tmp`, layer]);
}

// OUT_DIR=/dev/shm/… measures on tmpfs instead (CPU cost without the disk).
const outRoot = process.env.OUT_DIR ?? cache;

function freshDir(name) {
  const dir = path.join(outRoot, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  execFileSync('sync');
  return dir;
}

async function timeIt(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Sum of the children's user and system times from bash's `times` (second line, "0m1.234s 0m0.567s"). */
function childCpu(times) {
  const line = times.trim().split('\n').pop();
  return line.split(/\s+/).reduce((sum, t) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t);
    return m ? sum + Number(m[1]) * 60 + Number(m[2]) : sum;
  }, 0);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  buildLayer();
  const uncompressed = Number(execFileSync('sh', ['-c', `gzip -dc '${layer}' | wc -c`]).toString().trim());
  const entries = Number(execFileSync('sh', ['-c', `tar -tzf '${layer}' | wc -l`]).toString().trim());
  console.log(`layer: ${(statSync(layer).size / 2 ** 20).toFixed(1)} MiB gzip, ${(uncompressed / 2 ** 20).toFixed(1)} MiB tar, ${entries} entries`);
  const tarTimes = [];
  const ctrTimes = [];
  const tarCpu = [];
  const ctrCpu = [];
  for (let round = 0; round < ROUNDS; round++) {
    const tarDir = freshDir('tar-out');
    // bash's `times` reports the CPU the children (tar and its gzip) used.
    let times = '';
    tarTimes.push(await timeIt(() => {
      times = execFileSync('bash', ['-c', 'tar -xzf "$0" -C "$1"; times', layer, tarDir]).toString();
    }));
    tarCpu.push(childCpu(times));
    const ctrDir = freshDir('ctr-out');
    const cpuBefore = process.cpuUsage();
    let result;
    ctrTimes.push(await timeIt(async () => {
      result = await applyLayer(ctrDir, createReadStream(layer, { highWaterMark: 1 << 20 }));
    }));
    const cpu = process.cpuUsage(cpuBefore);
    ctrCpu.push((cpu.user + cpu.system) / 1e6);
    console.log(
      `round ${round + 1}: tar -xzf ${tarTimes[round].toFixed(2)} s (cpu ${tarCpu[round].toFixed(2)} s), ` +
        `applyLayer ${ctrTimes[round].toFixed(2)} s (cpu ${ctrCpu[round].toFixed(2)} s) (${result.diffId.slice(0, 19)}…)`,
    );
  }
  const tarMedian = median(tarTimes);
  const ctrMedian = median(ctrTimes);
  const check = execFileSync('sh', ['-c', `diff -r --no-dereference '${path.join(outRoot, 'tar-out')}' '${path.join(outRoot, 'ctr-out')}' && echo same`]).toString().trim();
  console.log(`trees identical: ${check === 'same'}`);
  rmSync(path.join(outRoot, 'tar-out'), { recursive: true, force: true });
  rmSync(path.join(outRoot, 'ctr-out'), { recursive: true, force: true });
  console.log(`median: tar -xzf ${tarMedian.toFixed(2)} s, applyLayer ${ctrMedian.toFixed(2)} s`);
  // CPU time is steadier than wall time on a busy machine; shown for information.
  console.log(`median cpu: tar+gzip ${median(tarCpu).toFixed(2)} s, applyLayer ${median(ctrCpu).toFixed(2)} s, cpu ratio ${(median(ctrCpu) / median(tarCpu)).toFixed(2)}`);
  console.log(`ratio=${(ctrMedian / tarMedian).toFixed(2)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
