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

/** The bundles loaded, each with its compiled script: their caches are written at the end. */
const loaded = [];

/**
 * Run a bundle through V8's code cache, kept beside it and named for the bundle it belongs
 * to: compiling a megabyte of JavaScript is most of what loading it costs. A bundle is a
 * module's function, wrapper included (scripts/bundle-cli.js); the main one's `require`
 * loads the other (the packages `ctr run` never needs) the same way.
 *
 * The cache holds the functions that had run when it was written, so the first command
 * after a build decides what later ones find compiled. One that runs a container
 * compiles most of ctr (engine, store, runtime) and makes the cache every command
 * benefits from (`ctr run` ≈ 10 ms faster than with a cache from `ctr --version`): a
 * cache written by any other command is replaced once by the first such one.
 */
function loadBundle(file, built) {
  const vm = require('node:vm');
  const name = path.basename(file, '.js');
  const stem = `${name}.${built.size}-${Math.floor(built.mtimeMs)}`;
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
  // ASCII (scripts/bundle-cli.js): read as latin1 it needs no UTF-8 decoding (≈ 1 ms), and
  // compiled as read, with no copy joined to a wrapper.
  const script = new vm.Script(fs.readFileSync(file, 'latin1'), { filename: file, cachedData });
  const module = { exports: {} };
  const current = cachedData !== undefined && !script.cachedDataRejected;
  loaded.push({ name, script, fullCache, partialCache, upToDate: (runsContainer) => current && (cacheFile === fullCache || !runsContainer) });
  script.runInThisContext()(module.exports, bundleRequire, module, file, dist);
  return module.exports;
}

const moreBundle = path.join(dist, 'ctr.more.bundle.js');
const bundleRequire = Object.assign((id) => (id === moreBundle ? loadBundle(moreBundle, fs.statSync(moreBundle)) : require(id)), require);

function saveCaches(commandRan) {
  const runsContainer = /^ctr (container )?run$/.test(commandRan ?? '');
  for (const bundle of loaded) {
    if (bundle.upToDate(runsContainer)) continue;
    const target = runsContainer ? bundle.fullCache : bundle.partialCache;
    const old = new RegExp(`^${bundle.name.replace(/\./g, '\\.')}\\.\\d+-\\d+\\.(partial\\.)?cache$`);
    try {
      for (const file of fs.readdirSync(dist)) if (old.test(file)) fs.rmSync(path.join(dist, file), { force: true });
      const temp = `${target}.${process.pid}`;
      fs.writeFileSync(temp, bundle.script.createCachedData());
      fs.renameSync(temp, target);
    } catch {
      // a read-only install runs without the cache
    }
  }
}

/**
 * A reader that stops early (`ctr save x | head -c 10`) closes the pipe: end quietly, killed by
 * SIGPIPE, as docker is (a Go program's write to a closed stdout or stderr raises it), so the
 * shell sees 141, not a success for output cut short. Node ignores SIGPIPE; a listener added
 * and removed gives it back its default action. The signal comes last of the process's 'exit'
 * listeners: the engine's before it hand over what this process owed (`run --rm`'s removal).
 */
const dieOfSigpipe = () => {
  const listener = () => undefined;
  process.on('SIGPIPE', listener);
  process.removeListener('SIGPIPE', listener);
  process.kill(process.pid, 'SIGPIPE');
};
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error;
    process.once('exit', dieOfSigpipe);
    process.exit(128 + require('node:os').constants.signals.SIGPIPE); // had the signal not ended it
  });
}

const built = currentBundle();
const { main, commandRan } = built ? loadBundle(bundle, built) : require('../dist/main.js');
// process.stdin is made on first use (a stream, and Node's stream code for it ≈ 1 ms): only commands that read it pay.
main(process.argv.slice(2), { get stdin() { return process.stdin; }, stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    // A reader that goes away while the output is flushed ends ctr (above) with this code.
    process.exitCode = code;
    if (built) saveCaches(commandRan());
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
