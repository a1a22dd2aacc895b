#!/usr/bin/env node
// Container start latency: create + start + wait for `true` through @ctr/runtime (library
// calls, runc under conmon) next to raw `runc run` of the same bundle, N rounds interleaved.
// Also ctr's memory per running container: conmon's RSS plus what this process keeps.
// Usage: npm run bench -- start [rounds]
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { Runtime } = require('@ctr/runtime');
const { launchDetached } = require('@ctr/store');

const rounds = Number(process.argv[2] || 30);
const base = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : require('node:os').tmpdir(), 'ctr-bench-start-'));
const { removeCgroupTree } = require('./lib/cgroups');
const cgroupParent = `/ctr-bench-${process.pid}`;

function busyboxRootfs(dir) {
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(dir, 'bin', 'busybox'));
  fs.chmodSync(path.join(dir, 'bin', 'busybox'), 0o755);
  for (const applet of execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n')) {
    if (applet && applet !== 'busybox') fs.symlinkSync('busybox', path.join(dir, 'bin', applet));
  }
  fs.mkdirSync(path.join(dir, 'etc'));
  fs.writeFileSync(path.join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  fs.writeFileSync(path.join(dir, 'etc', 'group'), 'root:x:0:\n');
  return dir;
}

function runcRun(bundle, id, runcRoot) {
  return new Promise((resolve, reject) => {
    const child = spawn('runc', [`--root=${runcRoot}`, 'run', '--bundle', bundle, id], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`runc run exited ${code}`))));
  });
}

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], mean: s.reduce((a, b) => a + b, 0) / s.length, min: s[0] };
};

async function main() {
  const rootfs = busyboxRootfs(path.join(base, 'rootfs'));
  // conmon is forked by @ctr/store's resident relay, as the engine has it.
  const runtime = new Runtime({ root: path.join(base, 'root'), runRoot: path.join(base, 'run'), cgroupParent, launch: launchDetached });
  const runcRoot = path.join(base, 'runc-raw');

  // The raw bundle is the spec ctr generates, so both sides run the very same container.
  await runtime.create('template', { rootfs, image: { Cmd: ['true'] } });
  // (kept until the end: its /etc/hosts, resolv.conf and hostname are bind-mounted by the raw bundle too)
  const spec = (await runtime.inspect('template')).spec;
  const bundle = path.join(base, 'bundle');
  fs.mkdirSync(bundle);
  const writeBundle = (id) => fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ ...spec, linux: { ...spec.linux, cgroupsPath: `${cgroupParent}/${id}` } }));

  const ctr = [];
  const raw = [];
  for (let i = -3; i < rounds; i++) {
    // ctr: library calls only.
    const id = `b${i + 3}`;
    let t = process.hrtime.bigint();
    await runtime.create(id, { rootfs, image: { Cmd: ['true'] } });
    await runtime.start(id);
    const { exitCode } = await runtime.wait(id);
    const ctrMs = Number(process.hrtime.bigint() - t) / 1e6;
    if (exitCode !== 0) throw new Error(`container exited ${exitCode}`);
    await runtime.delete(id);
    // raw runc run of the same bundle.
    writeBundle(`r${i + 3}`);
    t = process.hrtime.bigint();
    await runcRun(bundle, `r${i + 3}`, runcRoot);
    const rawMs = Number(process.hrtime.bigint() - t) / 1e6;
    if (i >= 0) {
      ctr.push(ctrMs);
      raw.push(rawMs);
    }
  }

  // Memory: K long-running containers; conmon's RSS each, and how much this process grew.
  const K = 10;
  global.gc?.();
  const before = process.memoryUsage().rss;
  const conmonRss = [];
  for (let i = 0; i < K; i++) {
    await runtime.create(`m${i}`, { rootfs, image: { Cmd: ['sleep', '1000'] } });
    await runtime.start(`m${i}`);
  }
  global.gc?.();
  const grown = Math.max(0, process.memoryUsage().rss - before) / K / 1024;
  for (let i = 0; i < K; i++) {
    const pid = Number(fs.readFileSync(path.join(base, 'root', 'containers', `m${i}`, 'conmon.pid'), 'utf8'));
    conmonRss.push(rssKiB(pid));
  }
  for (let i = 0; i < K; i++) await runtime.delete(`m${i}`, { force: true });
  await runtime.delete('template');

  const c = stats(ctr);
  const r = stats(raw);
  const conmonMiB = conmonRss.reduce((a, b) => a + b, 0) / K / 1024;
  console.log(`rounds: ${rounds} (interleaved, after 3 warm-up rounds)`);
  console.log(`ctr  create+start+wait: median ${c.median.toFixed(1)} ms, mean ${c.mean.toFixed(1)} ms, min ${c.min.toFixed(1)} ms`);
  console.log(`runc run:               median ${r.median.toFixed(1)} ms, mean ${r.mean.toFixed(1)} ms, min ${r.min.toFixed(1)} ms`);
  console.log(`memory per running container: conmon ${conmonMiB.toFixed(2)} MB + ctr (this process) ${(grown / 1024).toFixed(2)} MB = ${(conmonMiB + grown / 1024).toFixed(2)} MB`);
  console.log(`ratio=${(c.median / r.median).toFixed(2)}`);
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => {
    removeCgroupTree(cgroupParent);
    fs.rmSync(base, { recursive: true, force: true });
  });
