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

function time(fn, minMs = 500) {
  fn(); // warm up
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

const manifestFloor = time(() => JSON.parse(manifest.toString('utf8')));
const manifestOurs = time(() => parseManifest(manifest));
const manifestSchema = time(() => schemaProblems('manifest', manifest));
const indexFloor = time(() => JSON.parse(index.toString('utf8')));
const indexOurs = time(() => parseIndex(index));
const configFloor = time(() => JSON.parse(config.toString('utf8')));
const configOurs = time(() => parseImageConfig(config));
const references = ['busybox', 'localhost:5000/a/b:tag', `quay.io/org/app@${digestOf('x')}`, 'docker.io/library/alpine:3.19'];
const referenceOurs = time(() => references.forEach((r) => parseNormalizedReference(r))) / references.length;

const ms = (n) => `${n.toFixed(3)} ms`;
console.log(`manifest ${(manifest.length / 1048576).toFixed(1)} MiB, ${layers.length} layers:`);
console.log(`  JSON.parse (floor)          ${ms(manifestFloor)}`);
console.log(`  parseManifest (validated)   ${ms(manifestOurs)}  ratio ${(manifestOurs / manifestFloor).toFixed(2)}`);
console.log(`  schemaProblems (OCI schema) ${ms(manifestSchema)}  ratio ${(manifestSchema / manifestFloor).toFixed(2)}`);
console.log(`index of ${7} platforms:  JSON.parse ${ms(indexFloor)}, parseIndex ${ms(indexOurs)}  ratio ${(indexOurs / indexFloor).toFixed(2)}`);
console.log(`config:               JSON.parse ${ms(configFloor)}, parseImageConfig ${ms(configOurs)}  ratio ${(configOurs / configFloor).toFixed(2)}`);
console.log(`reference parse+normalise: ${(referenceOurs * 1000).toFixed(2)} µs each`);
console.log(`ratio=${(manifestOurs / manifestFloor).toFixed(2)}`);
