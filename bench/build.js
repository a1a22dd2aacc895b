#!/usr/bin/env node
// `npm run bench -- build`: Dockerfile parse time over the real-world corpus.
// The build half (cold build and fully cached rebuild of a sample Dockerfile with the real
// backend, ratio = cached/cold) is added by the engine owner; until then the headline ratio
// is parse time against a floor: splitting the same text into lines.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { parseDockerfile } = require('@ctr/dockerfile');

const CORPUS = '/work/shared/conformance/dockerfile-corpus';
const ROUNDS = Number(process.env.ROUNDS || 200);

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

if (require.main === module) {
  const p = parseCorpus();
  console.log(`corpus: ${p.files} Dockerfiles, ${(p.bytes / 1024).toFixed(1)} KiB`);
  console.log(`parse (parser + typed instructions + stages): ${p.parseMs.toFixed(3)} ms per corpus pass, ${(p.parseMs / p.files).toFixed(4)} ms per file`);
  console.log(`floor (split lines): ${p.floorMs.toFixed(3)} ms per corpus pass`);
  console.log(`ratio=${(p.parseMs / p.floorMs).toFixed(2)}`);
}

module.exports = { parseCorpus };
