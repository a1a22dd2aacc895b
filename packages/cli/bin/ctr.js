#!/usr/bin/env node
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');
const bundle = path.join(dist, 'ctr.bundle.js');

/**
 * The bundle `npm run build` makes, unless a package was compiled after it (a `tsc -b`
 * alone during development): then the per-package build is the current code.
 */
function currentBundle() {
  let built;
  try {
    built = fs.statSync(bundle);
  } catch {
    return undefined;
  }
  // Beside this package: the other workspace packages (or, once installed, packages without a build record).
  const packages = path.join(__dirname, '..', '..');
  for (const name of fs.readdirSync(packages)) {
    try {
      if (fs.statSync(path.join(packages, name, 'dist', '.tsbuildinfo')).mtimeMs > built.mtimeMs) return undefined;
    } catch {
      // no build record: nothing compiled after the bundle
    }
  }
  return built;
}

/**
 * Run the bundle through V8's code cache, kept beside it and named for the bundle it
 * belongs to: compiling 2.5 MB of JavaScript is most of what loading it costs.
 *
 * The cache holds the functions that had run when it was written, so the first command
 * after a build decides what later ones find compiled. One that runs a container
 * compiles most of ctr (engine, store, runtime) and makes the cache every command
 * benefits from (`ctr run` ≈ 10 ms faster than with a cache from `ctr --version`): a
 * cache written by any other command is replaced once by the first such one.
 */
function loadBundle(built) {
  const vm = require('node:vm');
  const stem = `ctr.bundle.${built.size}-${Math.floor(built.mtimeMs)}`;
  const fullCache = path.join(dist, `${stem}.cache`);
  const partialCache = path.join(dist, `${stem}.partial.cache`);
  let cachedData;
  let cacheFile;
  for (const candidate of [fullCache, partialCache]) {
    try {
      cachedData = fs.readFileSync(candidate);
      cacheFile = candidate;
      break;
    } catch {
      // not written yet for this bundle
    }
  }
  // The bundle is ASCII (scripts/bundle-cli.js): read as latin1 it needs no UTF-8 decoding (≈ 1 ms).
  // It is a module's function, wrapper included: compiled as read, no copy joined to a wrapper.
  const script = new vm.Script(fs.readFileSync(bundle, 'latin1'), { filename: bundle, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, require, module, bundle, dist);
  const saveCache = () => {
    const runsContainer = /^ctr (container )?run$/.test(module.exports.commandRan() ?? '');
    const current = cachedData !== undefined && !script.cachedDataRejected;
    if (current && (cacheFile === fullCache || !runsContainer)) return;
    const target = runsContainer ? fullCache : partialCache;
    try {
      for (const old of fs.readdirSync(dist)) if (/^ctr\.bundle\..*\.cache$/.test(old)) fs.rmSync(path.join(dist, old), { force: true });
      const temp = `${target}.${process.pid}`;
      fs.writeFileSync(temp, script.createCachedData());
      fs.renameSync(temp, target);
    } catch {
      // a read-only install runs without the cache
    }
  };
  return { main: module.exports.main, saveCache };
}

// A reader that stops early (`ctr ps | head -1`) closes the pipe: end quietly, as docker does.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

const built = currentBundle();
const { main, saveCache } = built ? loadBundle(built) : { main: require('../dist/main.js').main, saveCache: () => undefined };
// process.stdin is made on first use (a stream, and Node's stream code for it ≈ 1 ms): only commands that read it pay.
main(process.argv.slice(2), { get stdin() { return process.stdin; }, stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    // A reader that goes away while the output is flushed ends ctr (above) with this code.
    process.exitCode = code;
    saveCache();
    // Ending once the output is out, not when the event loop runs dry, saves Node's
    // teardown and the waits for what the command left behind: deletions the engine hands
    // to processes of their own (@ctr/store's mount relay) or leaves to the next command's
    // sweep. A pipe or socket may still hold output when the command is done (a slow
    // reader): the empty write's callback comes after everything written before it.
    const flushed = (stream) => new Promise((resolve) => (stream.writableLength === 0 ? resolve() : stream.write('', resolve)));
    Promise.all([flushed(process.stdout), flushed(process.stderr)]).then(() => process.exit(code));
  },
  (error) => {
    process.stderr.write(`Error: ${error && error.message ? error.message : error}\n`);
    process.exitCode = 125;
  },
);
