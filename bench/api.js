#!/usr/bin/env node
// `docker run --rm --network none busybox true` through the real docker CLI against ctrd
// (in this process, on a throwaway root) next to raw `runc run` of an equivalent bundle
// (busybox rootfs, `runc spec` defaults: its own network namespace, `true`), N rounds interleaved.
// Usage: npm run bench -- api [rounds]
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startDaemon } = require('@ctr/api');
const { createBusyboxRootfs } = require('@ctr/image');
const { removeCgroupTree } = require('./lib/cgroups');

const rounds = Number(process.argv[2] || 20);
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ctr-bench-api-'));
const cgroupParent = `/ctr-bench-api-${process.pid}`;

function run(command, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const runRoot = path.join(base, 'run');
  const socket = path.join(runRoot, 'ctr.sock');
  fs.mkdirSync(runRoot, { recursive: true });
  const daemon = await startDaemon({ root: path.join(base, 'root'), runRoot, hosts: [`unix://${socket}`] });
  const rootfs = path.join(base, 'rootfs');
  const bundle = path.join(base, 'bundle');
  try {
    // One busybox tree: imported as the image, and raw runc's root filesystem as it is.
    await createBusyboxRootfs(rootfs);
    await daemon.engine.importImage({ dir: rootfs }, { name: 'busybox', config: { Cmd: ['sh'] } });
    const env = { PATH: process.env.PATH, HOME: base, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: path.join(base, 'docker-config') };

    fs.mkdirSync(bundle);
    execFileSync('runc', ['spec', '--bundle', bundle]);
    const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
    spec.root = { path: rootfs, readonly: true };
    spec.process.terminal = false;
    spec.process.args = ['true'];
    const runcRoot = path.join(base, 'runc');

    const api = [];
    const raw = [];
    for (let i = -3; i < rounds; i++) {
      let t = process.hrtime.bigint();
      await run('docker', ['run', '--rm', '--network', 'none', 'busybox', 'true'], env);
      const apiMs = Number(process.hrtime.bigint() - t) / 1e6;
      const id = `api-bench-${i + 3}`;
      spec.linux.cgroupsPath = `${cgroupParent}/${id}`;
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
      t = process.hrtime.bigint();
      await run('runc', [`--root=${runcRoot}`, 'run', '--bundle', bundle, id]);
      const rawMs = Number(process.hrtime.bigint() - t) / 1e6;
      if (i >= 0) {
        api.push(apiMs);
        raw.push(rawMs);
      }
    }
    // The docker CLI's own start-up, as a floor for the client side.
    const cli = [];
    for (let i = 0; i < 5; i++) {
      const t = process.hrtime.bigint();
      await run('docker', ['version', '--format', '{{.Server.Version}}'], env);
      cli.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    console.log(`rounds: ${rounds} (interleaved, after 3 warm-up rounds)`);
    console.log(`docker run --rm busybox true via ctrd: median ${median(api).toFixed(1)} ms, min ${Math.min(...api).toFixed(1)} ms`);
    console.log(`runc run of the same rootfs:          median ${median(raw).toFixed(1)} ms, min ${Math.min(...raw).toFixed(1)} ms`);
    console.log(`docker version (CLI start + 2 requests): median ${median(cli).toFixed(1)} ms`);
    console.log(`ratio=${(median(api) / median(raw)).toFixed(2)}`);
  } finally {
    await daemon.stop();
  }
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
