// Parsing image documents: ctr's validated parse against bare JSON.parse (the floor: no
// checks at all) on a 4 MiB manifest — the size a registry must accept — and a typical
// multi-platform index and config. Headline: validated manifest parse ÷ JSON.parse.
'use strict';
const {
  digestOf,
  MediaTypes,
  parseImageConfig,
  parseIndex,
  parseManifest,
  parseNormalizedReference,
  schemaProblems,
} = require('@ctr/image');

// The machine is shared, so each figure is the median of several rounds, and the two
// sides of a ratio are measured in alternation so load hits both alike.
function once(fn, minMs) {
  let runs = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    fn();
    runs += 1;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return elapsed / runs;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function compare(floor, ours, rounds = 9, minMs = 100) {
  floor();
  ours();
  const a = [];
  const b = [];
  for (let i = 0; i < rounds; i += 1) {
    a.push(once(floor, minMs));
    b.push(once(ours, minMs));
  }
  return [median(a), median(b)];
}

const layers = Array.from({ length: 20000 }, (_, i) => ({
  mediaType: MediaTypes.ociLayerGzip,
  digest: digestOf(String(i)),
  size: 1000 + i,
  annotations: { 'org.example.n': 'x'.repeat(60) },
}));
const manifest = Buffer.from(JSON.stringify({
  schemaVersion: 2,
  mediaType: MediaTypes.ociManifest,
  config: { mediaType: MediaTypes.ociConfig, digest: digestOf('c'), size: 1 },
  layers,
}));
const index = Buffer.from(JSON.stringify({
  schemaVersion: 2,
  mediaType: MediaTypes.ociIndex,
  manifests: ['amd64', 'arm64', 'arm', '386', 'ppc64le', 's390x', 'riscv64'].map((architecture) => ({
    mediaType: MediaTypes.ociManifest, digest: digestOf(architecture), size: 500, platform: { os: 'linux', architecture },
  })),
}));
const config = Buffer.from(JSON.stringify({
  architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z',
  config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['sh'], Labels: { a: 'b' }, ExposedPorts: { '80/tcp': {} } },
  rootfs: { type: 'layers', diff_ids: [digestOf('l1'), digestOf('l2')] },
  history: [{ created_by: 'ADD x /' }, { created_by: 'CMD ["sh"]', empty_layer: true }, { created_by: 'RUN y' }],
}));

const parseText = (bytes) => () => JSON.parse(bytes.toString('utf8'));
const [manifestFloor, manifestOurs] = compare(parseText(manifest), () => parseManifest(manifest));
const [, manifestSchema] = compare(parseText(manifest), () => schemaProblems('manifest', manifest), 5);
const [indexFloor, indexOurs] = compare(parseText(index), () => parseIndex(index));
const [configFloor, configOurs] = compare(parseText(config), () => parseImageConfig(config));
const references = ['busybox', 'localhost:5000/a/b:tag', `quay.io/org/app@${digestOf('x')}`, 'docker.io/library/alpine:3.19'];
const [, referenceRound] = compare(() => undefined, () => references.forEach((r) => parseNormalizedReference(r)), 5);
const referenceOurs = referenceRound / references.length;

const ms = (n) => `${n.toFixed(3)} ms`;
console.log(`manifest ${(manifest.length / 1048576).toFixed(1)} MiB, ${layers.length} layers:`);
console.log(`  JSON.parse (floor)          ${ms(manifestFloor)}`);
console.log(`  parseManifest (validated)   ${ms(manifestOurs)}  ratio ${(manifestOurs / manifestFloor).toFixed(2)}`);
console.log(`  schemaProblems (OCI schema) ${ms(manifestSchema)}  ratio ${(manifestSchema / manifestFloor).toFixed(2)}`);
console.log(`index of ${7} platforms:  JSON.parse ${ms(indexFloor)}, parseIndex ${ms(indexOurs)}  ratio ${(indexOurs / indexFloor).toFixed(2)}`);
console.log(`config:               JSON.parse ${ms(configFloor)}, parseImageConfig ${ms(configOurs)}  ratio ${(configOurs / configFloor).toFixed(2)}`);
console.log(`reference parse+normalise: ${(referenceOurs * 1000).toFixed(2)} µs each`);
console.log(`ratio=${(manifestOurs / manifestFloor).toFixed(2)}`);
