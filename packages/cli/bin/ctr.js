#!/usr/bin/env node
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');

const dist = path.join(__dirname, '..', 'dist');
const bundle = path.join(dist, 'ctr.bundle.js');
const snapshot = path.join(dist, 'ctr.snapshot.blob');
/** A symlink to the node binary that wrote the snapshot: V8 refuses a snapshot another build of it wrote. */
const snapshotNode = path.join(dist, 'ctr.snapshot.node');
const snapshotFailed = path.join(dist, 'ctr.snapshot.failed');

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

/** The code caches of this build of the bundle: the one a `run` wrote, and any other command's. */
function cacheFiles(built) {
  const stem = `ctr.bundle.${built.size}-${Math.floor(built.mtimeMs)}`;
  return { full: path.join(dist, `${stem}.cache`), partial: path.join(dist, `${stem}.partial.cache`) };
}

/** The bundle compiled (not run) as a CommonJS module's function. */
function compileBundle(cachedData) {
  const vm = require('node:vm');
  // The bundle is ASCII (scripts/bundle-cli.js): read as latin1 it needs no UTF-8 decoding (≈ 1 ms).
  return new vm.Script(require('node:module').wrap(fs.readFileSync(bundle, 'latin1')), { filename: bundle, cachedData });
}

/** Runs the bundle's module function; its exports. */
function evaluateBundle(moduleFunction, bundleRequire) {
  const module = { exports: {} };
  moduleFunction(module.exports, bundleRequire, module, bundle, dist);
  return module.exports;
}

/**
 * Run the bundle through V8's code cache, kept beside it and named for the bundle it
 * belongs to: compiling 2 MB of JavaScript is most of what loading it costs.
 *
 * The cache holds the functions that had run when it was written, so the first command
 * after a build decides what later ones find compiled. One that runs a container
 * compiles most of ctr (engine, store, runtime) and makes the cache every command
 * benefits from (`ctr run` ≈ 10 ms faster than with a cache from `ctr --version`): a
 * cache written by any other command is replaced once by the first such one. That full
 * cache is what the startup snapshot is then made from.
 */
function loadBundle(built) {
  const args = process.argv.slice(2);
  const runsContainer = args.includes('run') && !args.includes('--help');
  const { full: fullCache, partial: partialCache } = cacheFiles(built);
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
  const script = compileBundle(cachedData);
  const { main } = evaluateBundle(script.runInThisContext(), require);
  const afterwards = () => {
    const current = cachedData !== undefined && !script.cachedDataRejected;
    if (current && (cacheFile === fullCache || !runsContainer)) {
      if (cacheFile === fullCache) refreshSnapshot(built);
      return;
    }
    const target = runsContainer ? fullCache : partialCache;
    try {
      for (const old of fs.readdirSync(dist)) if (/^ctr\.bundle\..*\.cache$/.test(old)) fs.rmSync(path.join(dist, old), { force: true });
      const temp = `${target}.${process.pid}`;
      fs.writeFileSync(temp, script.createCachedData());
      fs.renameSync(temp, target);
    } catch {
      // a read-only install runs without the cache
      return;
    }
    if (target === fullCache) refreshSnapshot(built);
  };
  return { main, afterwards };
}

/** Whether the snapshot was made from this bundle by this node binary: what `bin/ctr` checks before using it. */
function snapshotCurrent(built) {
  try {
    const blob = fs.statSync(snapshot);
    const node = fs.statSync(process.execPath);
    const maker = fs.statSync(snapshotNode);
    return blob.mtimeMs > built.mtimeMs && maker.ino === node.ino && maker.dev === node.dev;
  } catch {
    return false;
  }
}

/**
 * Make the startup snapshot `bin/ctr` starts from, in a process of its own that outlives
 * this one (≈ half a second): node --build-snapshot runs this file, which compiles the
 * bundle with the full code cache. A lock file keeps concurrent commands from each
 * making one; a lock older than a minute belonged to a maker that was killed. A maker
 * that failed leaves `ctr.snapshot.failed`: this bundle is not tried again (the next
 * build of ctr deletes it).
 */
function refreshSnapshot(built) {
  if (snapshotCurrent(built)) return;
  try {
    if (fs.statSync(snapshotFailed).mtimeMs > built.mtimeMs) return;
  } catch {
    // never failed for this bundle
  }
  const lock = `${snapshot}.lock`;
  try {
    fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
  } catch {
    try {
      if (Date.now() - fs.statSync(lock).mtimeMs < 60_000) return;
      fs.writeFileSync(lock, String(process.pid));
    } catch {
      return;
    }
  }
  const script = [
    'tmp="$1.$$"',
    'trap \'rm -f "$tmp" "$1.lock"\' EXIT',
    // The old snapshot goes before the link changes: bin/ctr never pairs one node with another's snapshot.
    'if "$2" --snapshot-blob "$tmp" --build-snapshot "$3"; then rm -f "$1" && ln -sfn "$2" "$4" && mv -f "$tmp" "$1"; else : > "$5"; fi',
  ].join('\n');
  const env = { ...process.env };
  // Flags change what V8 accepts: the snapshot is made as bin/ctr runs it, with none.
  delete env.NODE_OPTIONS;
  try {
    require('node:child_process')
      .spawn('sh', ['-c', script, 'sh', snapshot, process.execPath, __filename, snapshotNode, snapshotFailed], { detached: true, stdio: 'ignore', env })
      .unref();
  } catch {
    fs.rmSync(lock, { force: true });
  }
}

/** Runs ctr's main with the process's arguments and stdio; its result is the exit status. */
function start(main, args, afterwards) {
  // A reader that stops early (`ctr ps | head -1`) closes the pipe: end quietly, as docker does.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(process.exitCode ?? 0);
    });
  }
  main(args, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => {
      process.exitCode = code;
      afterwards();
    },
    (error) => {
      process.stderr.write(`Error: ${error && error.message ? error.message : error}\n`);
      process.exitCode = 125;
    },
  );
}

/**
 * The startup snapshot (`node --snapshot-blob dist/ctr.snapshot.blob`, as bin/ctr starts
 * it): node's own start with the bundle already compiled — every function the full code
 * cache holds included — and evaluated, with the engine `ctr run` loads (main.js
 * `preload`), so reading, compiling, evaluating and collecting it costs nothing at run
 * time.
 */
function prepareSnapshot() {
  const built = fs.statSync(bundle);
  const script = compileBundle(fs.readFileSync(cacheFiles(built).full));
  if (script.cachedDataRejected) throw new Error('the code cache does not belong to this node');
  // While the snapshot is made only built-in modules can be loaded; once it runs, anything
  // the bundle leaves out (ssh2) through a real require.
  let load = require;
  const exports = evaluateBundle(script.runInThisContext(), (id) => load(id));
  exports.preload();
  const home = fs.realpathSync(__dirname);
  v8.startupSnapshot.setDeserializeMainFunction(() => {
    const [launcherDir, ...args] = process.argv.slice(1);
    const { createRequire } = require('node:module');
    if (fs.realpathSync(launcherDir) !== home) {
      // ctr was moved since: its snapshot names files that are elsewhere now. Start as ctr.js, which makes a new one.
      fs.rmSync(path.join(launcherDir, '..', 'dist', 'ctr.snapshot.blob'), { force: true });
      process.argv.splice(1, 1, path.join(launcherDir, 'ctr.js'));
      createRequire(process.argv[1])(process.argv[1]);
      return;
    }
    load = createRequire(bundle);
    start(exports.main, args, () => undefined);
  });
}

if (v8.startupSnapshot.isBuildingSnapshot()) {
  prepareSnapshot();
} else {
  const built = currentBundle();
  const { main, afterwards } = built ? loadBundle(built) : { main: require('../dist/main.js').main, afterwards: () => undefined };
  start(main, process.argv.slice(2), afterwards);
}
