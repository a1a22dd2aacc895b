#!/usr/bin/env node
// bench/network: create + connect + tear down the network of 50 containers (netns, veth
// pair on a bridge, IPv4 address, default route), one run each:
//   - @ctr/network (NetworkManager.attach/detach on its default bridge),
//   - the same with plain `ip` commands in one shell script (the floor),
//   - the same through the CNI reference plugins (bridge + host-local), for the README's choice.
// Headline: ratio = @ctr/network time / ip-script time. Only addresses inside bridges made here.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { NetworkManager } = require('@ctr/network');

const N = 50;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ctr-bench-network-'));
const sh = (script) => execFileSync('sh', ['-ec', script], { stdio: ['ignore', 'pipe', 'inherit'] }).toString();

async function library(mode, name) {
  const root = path.join(work, `lib-${name}`);
  const manager = new NetworkManager({
    root,
    runRoot: path.join(root, 'run'),
    bridgePrefix: 'cbn',
    defaultBridge: { bridgeName: 'cbn-dflt', subnet: '10.216.240.0/24' },
  });
  if (mode !== 'bridge') await manager.createNetwork({ name: mode, subnet: '10.216.241.0/24', bridgeName: 'cbn-user' });
  // Warm-up: the first attach creates the default bridge, as dockerd creates docker0 at start.
  await manager.attach('warm', { mode });
  await manager.detach('warm');
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await manager.attach(`c${i}`, { mode });
  for (let i = 0; i < N; i++) await manager.detach(`c${i}`);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (mode !== 'bridge') await manager.removeNetwork(mode);
  await manager.gc();
  return ms;
}

function ipScript() {
  const dir = path.join(work, 'ip');
  fs.mkdirSync(dir);
  sh('ip link add cbn-ip type bridge && ip addr add 10.216.242.1/24 dev cbn-ip && ip link set cbn-ip up');
  const lines = [];
  for (let i = 0; i < N; i++) {
    const ns = `${dir}/c${i}`;
    lines.push(
      `touch ${ns} && unshare --net=${ns} ip link set lo up`,
      `ip link add cbnv${i} type veth peer name eth0 netns ${ns}`,
      `ip link set cbnv${i} master cbn-ip up`,
      `nsenter --net=${ns} ip addr add 10.216.242.${i + 2}/24 dev eth0`,
      `nsenter --net=${ns} ip link set eth0 up`,
      `nsenter --net=${ns} ip route add default via 10.216.242.1`,
    );
  }
  for (let i = 0; i < N; i++) lines.push(`ip link del cbnv${i}`, `umount ${dir}/c${i}`, `rm ${dir}/c${i}`);
  const start = process.hrtime.bigint();
  sh(lines.join('\n'));
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  sh('ip link del cbn-ip');
  return ms;
}

function cni() {
  const dir = path.join(work, 'cni');
  fs.mkdirSync(dir);
  const conf = JSON.stringify({
    cniVersion: '1.0.0',
    name: 'cbn-cni',
    type: 'bridge',
    bridge: 'cbn-cni',
    isGateway: true,
    ipMasq: false,
    ipam: { type: 'host-local', subnet: '10.216.243.0/24', dataDir: path.join(dir, 'ipam') },
  });
  const plugin = (cmd, i) =>
    execFileSync('/usr/lib/cni/bridge', [], {
      input: conf,
      env: { CNI_COMMAND: cmd, CNI_CONTAINERID: `c${i}`, CNI_NETNS: `${dir}/c${i}`, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni', PATH: process.env.PATH },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    sh(`touch ${dir}/c${i} && unshare --net=${dir}/c${i} ip link set lo up`);
    plugin('ADD', i);
  }
  for (let i = 0; i < N; i++) {
    plugin('DEL', i);
    sh(`umount ${dir}/c${i} && rm ${dir}/c${i}`);
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  sh('ip link del cbn-cni');
  return ms;
}

(async () => {
  try {
    const ip = ipScript();
    const lib = await library('bridge', 'default');
    const user = await library('cbn-bench', 'user');
    const plugins = cni();
    const per = (ms) => `${ms.toFixed(0)} ms (${(ms / N).toFixed(1)} ms/container)`;
    console.log(`containers:                         ${N}`);
    console.log(`plain ip commands (shell script):   ${per(ip)}`);
    console.log(`@ctr/network, default bridge:       ${per(lib)}`);
    console.log(`@ctr/network, user network + DNS:   ${per(user)}`);
    console.log(`CNI plugins (bridge + host-local):  ${per(plugins)}`);
    console.log(`ratio=${(lib / ip).toFixed(2)}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
