#!/usr/bin/env node
// `npm run bench -- run [rounds]`: `docker run`'s cost. `ctr run --rm --network none
// busybox true` as a whole CLI process, and `engine.run()` (create + start + wait +
// remove) in a warm process, each against raw `runc run` of the same container's bundle;
// interleaved rounds, medians; `ratio=<engine.run / runc>` last.
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');
const { removeCgroupTree } = require('./lib/cgroups');

function spawnQuiet(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`))));
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;

async function benchmark(rounds) {
  const fs = require('node:fs');
  const os = require('node:os');
  const { Engine } = require('@ctr/engine');
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ctr-bench-run-'));
  const root = path.join(base, 'root');
  const runRoot = path.join(base, 'run');
  const runcRoot = path.join(base, 'runc-raw');
  const cgroupParent = `/ctr-bench-run-${process.pid}`;
  const engine = new Engine({ root, runRoot });
  const cli = path.join(__dirname, '..', 'packages', 'cli', 'bin', 'ctr');
  let template;
  try {
    await engine.importBusybox();

    // The raw bundle is the spec the engine generated for an identical container (running
    // `true` in place of its `sleep`, which keeps its overlay rootfs mounted: a created or
    // stopped container's is not), with a fresh network namespace instead of the one
    // @ctr/network made, and its own cgroup each round.
    template = await engine.run({ image: 'busybox', cmd: ['sleep', '3600'], network: 'none', detach: true });
    const spec = JSON.parse(fs.readFileSync(path.join(root, 'containers', template.id, 'config.json'), 'utf8'));
    spec.process.args = ['true'];
    spec.linux.namespaces = spec.linux.namespaces.map((ns) => (ns.type === 'network' ? { type: 'network' } : ns));
    const bundle = path.join(base, 'bundle');
    fs.mkdirSync(bundle);
    const rawRun = async (id) => {
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ ...spec, linux: { ...spec.linux, cgroupsPath: `${cgroupParent}/${id}` } }));
      const start = process.hrtime.bigint();
      await spawnQuiet('runc', [`--root=${runcRoot}`, 'run', '--bundle', bundle, id]);
      return ms(start);
    };
    const engineRun = async () => {
      const start = process.hrtime.bigint();
      const { exitCode } = await engine.run({ image: 'busybox', cmd: ['true'], network: 'none', autoRemove: true });
      const took = ms(start);
      if (exitCode !== 0) throw new Error(`engine.run exited ${exitCode}`);
      return took;
    };
    const cliRun = async () => {
      const start = process.hrtime.bigint();
      await spawnQuiet(cli, ['--root', root, '--runroot', runRoot, 'run', '--rm', '--network', 'none', 'busybox', 'true']);
      return ms(start);
    };

    const raw = [];
    const lib = [];
    const cmd = [];
    for (let i = -2; i < rounds; i++) {
      const r = await rawRun(`raw${i + 2}`);
      const e = await engineRun();
      const c = await cliRun();
      if (i >= 0) {
        raw.push(r);
        lib.push(e);
        cmd.push(c);
      }
    }
    const [r, e, c] = [median(raw), median(lib), median(cmd)];
    console.log(`rounds: ${rounds} (interleaved, after 2 warm-up rounds), medians`);
    console.log(`runc run (raw bundle):                           ${r.toFixed(1)} ms`);
    console.log(`engine.run() warm (create+start+wait+remove):    ${e.toFixed(1)} ms  (${(e / r).toFixed(2)}x runc)`);
    console.log(`ctr run --rm --network none busybox true (CLI):  ${c.toFixed(1)} ms  (${(c / r).toFixed(2)}x runc)`);
    console.log(`targets: engine.run <= 1.5x, CLI <= 3x; no Docker engine on this machine to compare with`);
    console.log(`ratio=${(e / r).toFixed(2)}`);
  } finally {
    if (template) await engine.remove(template.id, { force: true }).catch(() => undefined);
    for (const c of await engine.ps({ all: true }).catch(() => [])) await engine.remove(c.Id, { force: true }).catch(() => undefined);
    removeCgroupTree(cgroupParent);
    fs.rmSync(base, { recursive: true, force: true });
  }
}

benchmark(Number(process.argv[2] || 15)).catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
