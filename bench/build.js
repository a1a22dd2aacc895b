#!/usr/bin/env node
// `npm run bench -- build [rounds]`: a cold build and a fully cached rebuild of a sample
// Dockerfile (FROM busybox, 3 RUN, 2 COPY, ENV) with the engine on real snapshots and runc,
// each round on a fresh root; and Dockerfile parse time over the real-world corpus.
// Headline: ratio = cached rebuild / cold build (medians).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { parseDockerfile } = require('@ctr/dockerfile');

// The shared conformance data sits beside the checkout (`<repo>/../shared`), or where CTR_CONFORMANCE says.
const CORPUS = path.join(process.env.CTR_CONFORMANCE ?? path.join(__dirname, '..', '..', 'shared', 'conformance'), 'dockerfile-corpus');
const ROUNDS = Number(process.env.ROUNDS || 200);
const BUILD_ROUNDS = Number(process.argv[2] || 3);

function corpusFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'LICENSES' ? [] : corpusFiles(full);
    return /Dockerfile/.test(e.name) ? [full] : [];
  });
}

function timeRounds(texts, fn) {
  for (let i = 0; i < 20; i++) for (const t of texts) fn(t); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) for (const t of texts) fn(t);
  return Number(process.hrtime.bigint() - start) / 1e6 / ROUNDS;
}

/** Parse every corpus Dockerfile ROUNDS times; returns ms per whole-corpus pass. */
function parseCorpus() {
  const texts = corpusFiles(CORPUS).map((f) => fs.readFileSync(f, 'utf8'));
  const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
  const parseMs = timeRounds(texts, (t) => parseDockerfile(t));
  const floorMs = timeRounds(texts, (t) => t.split('\n').filter((l) => l.trim() !== '').length);
  return { files: texts.length, bytes, parseMs, floorMs };
}

const SAMPLE = `FROM busybox
ENV GREETING=hello
COPY app.sh /app/app.sh
COPY data /app/data
RUN chmod +x /app/app.sh
RUN mkdir -p /var/lib/app && cp -r /app/data /var/lib/app/
RUN echo "$GREETING from a build" > /app/built.txt
CMD ["/app/app.sh"]
`;

/** Cold build (fresh root, only busybox present) and a fully cached rebuild, BUILD_ROUNDS times; ms medians. */
async function buildTimes() {
  const os = require('node:os');
  const { Engine } = require('@ctr/engine');
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ctr-bench-build-'));
  const context = path.join(base, 'context');
  fs.mkdirSync(path.join(context, 'data'), { recursive: true });
  fs.writeFileSync(path.join(context, 'Dockerfile'), SAMPLE);
  fs.writeFileSync(path.join(context, 'app.sh'), '#!/bin/sh\ncat /app/built.txt\n');
  for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(context, 'data', `file-${i}.txt`), `data ${i}\n`.repeat(200));
  const cold = [];
  const cached = [];
  const roots = [];
  try {
    for (let i = 0; i < BUILD_ROUNDS; i++) {
      const root = path.join(base, `root-${i}`);
      const runRoot = path.join(base, `run-${i}`);
      roots.push({ root, runRoot });
      const engine = new Engine({ root, runRoot });
      await engine.importBusybox();
      let start = process.hrtime.bigint();
      const first = await engine.build({ context, tags: ['bench/app'] });
      cold.push(Number(process.hrtime.bigint() - start) / 1e6);
      start = process.hrtime.bigint();
      const again = await engine.build({ context, tags: ['bench/app'] });
      cached.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (again.id !== first.id) throw new Error(`the cached rebuild made another image (${again.id} != ${first.id})`);
    }
  } finally {
    // RUN steps use the default bridge: its bridge and rules live outside the root.
    const { NetworkManager } = require('@ctr/network');
    for (const r of roots) await new NetworkManager(r).gc().catch(() => undefined);
    fs.rmSync(base, { recursive: true, force: true });
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { coldMs: median(cold), cachedMs: median(cached) };
}

if (require.main === module) {
  (async () => {
    const p = parseCorpus();
    console.log(`corpus: ${p.files} Dockerfiles, ${(p.bytes / 1024).toFixed(1)} KiB`);
    console.log(`parse (parser + typed instructions + stages): ${p.parseMs.toFixed(3)} ms per corpus pass, ${(p.parseMs / p.files).toFixed(4)} ms per file`);
    console.log(`floor (split lines): ${p.floorMs.toFixed(3)} ms per corpus pass (parse/floor ${(p.parseMs / p.floorMs).toFixed(1)})`);
    const b = await buildTimes();
    console.log(`build of the sample Dockerfile (FROM busybox, ENV, 2 COPY, 3 RUN), medians of ${BUILD_ROUNDS} rounds:`);
    console.log(`  cold (fresh root):       ${b.coldMs.toFixed(1)} ms`);
    console.log(`  fully cached rebuild:    ${b.cachedMs.toFixed(1)} ms`);
    console.log(`ratio=${(b.cachedMs / b.coldMs).toFixed(3)}`);
  })().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}

module.exports = { parseCorpus };
