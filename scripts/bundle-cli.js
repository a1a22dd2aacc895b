#!/usr/bin/env node
// `npm run build`'s last step: the ctr command as one file. Node resolving, reading and
// compiling ~150 modules costs more than starting the container `ctr run` is for; one
// bundle (plus the V8 code cache bin/ctr.js keeps beside it) loads in a fraction of that.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');
const cli = path.join(root, 'packages', 'cli');

/**
 * What `ctr version` shows as Git commit and Built, as docker's build stamps its binaries
 * (`git rev-parse --short HEAD`, the time in UTC): beside the engine's compiled code, where
 * its buildInfo() reads it, in dist/, which git ignores. Outside a git checkout the commit is ''.
 */
function writeBuildInfo() {
  let commit = '';
  if (fs.existsSync(path.join(root, '.git'))) {
    try {
      commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      // no git, or a checkout without a commit yet
    }
  }
  const info = { GitCommit: commit, BuildTime: new Date().toISOString() };
  fs.writeFileSync(path.join(root, 'packages', 'engine', 'dist', 'build-info.json'), `${JSON.stringify(info)}\n`);
}

writeBuildInfo();

/**
 * Modules that some commands need and `ctr run` does not, loaded on first use: requiring
 * node:crypto alone costs ≈ 3 ms of every start, zlib, readline and tar-stream ≈ 2 ms more,
 * node:fs/promises (which loads readline's interface itself) ≈ 1.5 ms.
 * Each becomes an object that requires the module when a property is first read (tsc's
 * CommonJS reads `crypto_1.createHash` at the call). It says it is an ES module, so tsc's
 * import helpers pass it through unread, and gives the module itself as its `default`.
 */
const LAZY_MODULES = /^((node:)?(crypto|zlib|readline|fs\/promises)|tar-stream)$/;

const lazyModules = {
  name: 'lazy-modules',
  setup(build) {
    // From within the stand-in, the module itself: a built-in stays external, a package is bundled.
    build.onResolve({ filter: LAZY_MODULES }, (args) =>
      args.namespace === 'lazy-module' ? undefined : { path: args.path, namespace: 'lazy-module', pluginData: args.resolveDir },
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy-module' }, (args) => ({
      contents: `let loaded;
const load = () => (loaded ??= require(${JSON.stringify(args.path)}));
module.exports = new Proxy({}, {
  get: (_, key) => (key === '__esModule' ? true : key === 'default' ? load() : load()[key]),
  has: (_, key) => key in load(),
  ownKeys: () => Reflect.ownKeys(load()),
  getOwnPropertyDescriptor: (_, key) => {
    const found = Object.getOwnPropertyDescriptor(load(), key);
    return found && { ...found, configurable: true };
  },
});
`,
      resolveDir: args.pluginData,
      loader: 'js',
    }));
  },
};

const UNDICI_BUNDLE = 'undici.bundle.js';

/**
 * undici, the registry client's HTTP library, is 40 % of ctr's code and only pulls and
 * pushes use it: it is a bundle of its own beside ctr's, read when first required, so the
 * commands that never reach a registry (`run` above all) read and keep 0.7 MB less.
 */
const undiciApart = {
  name: 'undici-apart',
  setup(build) {
    build.onResolve({ filter: /^undici$/ }, () => ({ path: 'undici', namespace: 'undici-apart' }));
    build.onLoad({ filter: /.*/, namespace: 'undici-apart' }, () => ({
      // __dirname is the bundle's directory (bin/ctr.js passes it): a path esbuild leaves alone.
      contents: `module.exports = require(require('node:path').join(__dirname, ${JSON.stringify(UNDICI_BUNDLE)}));`,
      loader: 'js',
    }));
  },
};

const MORE_BUNDLE = 'ctr.more.bundle.js';

/**
 * Packages `ctr run` never loads — the Engine API (ctrd, remote hosts), Compose, swarm mode, the Dockerfile
 * builder, the registry client and JSON Schema validation — are a bundle of their own, read
 * when one of them is first required: half of ctr's code that every command read and
 * held (`ctr run` ≈ 2 ms faster without it).
 */
const APART = ['@ctr/api', '@ctr/compose', '@ctr/swarm', '@ctr/dockerfile', '@ctr/registry', 'ajv-draft-04'];

/**
 * The CLI's own modules that go with them, by the path the CLI requires them with: the Go
 * template engine (≈ 50 KB) is wanted only by a `--format` that a plain field lookup cannot fill.
 */
const CLI_APART = { './go-template': path.join(cli, 'dist', 'go-template.js') };

/**
 * What the packages apart use of ctr's own packages comes from the main bundle, so there is
 * one of each (a CtrError thrown on one side is a CtrError on the other, a store's state is
 * one state). A ctr package they come to import must be named here, or it is bundled twice.
 */
const SHARED = ['@ctr/errors', '@ctr/image', '@ctr/store', '@ctr/runtime', '@ctr/network', '@ctr/engine'];

const exactly = (names) => new RegExp(`^(${names.map((name) => name.replace(/[/.]/g, '\\$&')).join('|')})$`);

/** In the main bundle: each package apart is the more bundle's, which gets the shared packages on loading. */
const packagesApart = {
  name: 'packages-apart',
  setup(build) {
    build.onResolve({ filter: exactly([...APART, ...Object.keys(CLI_APART)]) }, (args) => ({ path: args.path, namespace: 'package-apart' }));
    build.onLoad({ filter: /.*/, namespace: 'package-apart' }, (args) => ({
      contents: `module.exports = require('ctr:more-bundle')(${JSON.stringify(args.path)});`,
      resolveDir: cli,
      loader: 'js',
    }));
    build.onResolve({ filter: /^ctr:more-bundle$/ }, () => ({ path: 'more-bundle', namespace: 'more-bundle' }));
    build.onLoad({ filter: /.*/, namespace: 'more-bundle' }, () => ({
      contents: `let more;
module.exports = (name) => {
  if (!more) {
    more = require(require('node:path').join(__dirname, ${JSON.stringify(MORE_BUNDLE)}));
    more.share({ ${SHARED.map((name) => `${JSON.stringify(name)}: () => require(${JSON.stringify(name)})`).join(', ')} });
  }
  return more.load(name);
};
`,
      resolveDir: cli,
      loader: 'js',
    }));
  },
};

/** In the more bundle: the shared packages are the ones it was given. */
const sharedPackages = {
  name: 'shared-packages',
  setup(build) {
    build.onResolve({ filter: exactly(SHARED) }, (args) => ({ path: args.path, namespace: 'shared-package' }));
    build.onLoad({ filter: /.*/, namespace: 'shared-package' }, (args) => ({
      contents: `module.exports = require('ctr:shared').get(${JSON.stringify(args.path)});`,
      resolveDir: cli,
      loader: 'js',
    }));
    build.onResolve({ filter: /^ctr:shared$/ }, () => ({ path: 'shared', namespace: 'shared' }));
    build.onLoad({ filter: /.*/, namespace: 'shared' }, () => ({
      contents: 'let modules;\nexports.set = (given) => { modules = given; };\nexports.get = (name) => modules[name]();\n',
      loader: 'js',
    }));
  },
};

const MORE_ENTRY = `exports.share = require('ctr:shared').set;
exports.load = (name) => {
  switch (name) {
${APART.map((name) => `    case ${JSON.stringify(name)}: return require(${JSON.stringify(name)});`).join('\n')}
${Object.entries(CLI_APART).map(([name, file]) => `    case ${JSON.stringify(name)}: return require(${JSON.stringify(file)});`).join('\n')}
  }
  throw new Error('not in this bundle: ' + name);
};
`;

/** Node's CommonJS module wrapper (`require('node:module').wrap`), the parameters bin/ctr.js passes. */
const BUNDLE_WRAPPER = { head: '(function (exports, require, module, __filename, __dirname) {', tail: '\n});' };

const shared = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minifyWhitespace: true,
  minifySyntax: true,
  // Licence comments go to a .LEGAL.txt beside each bundle: with them, and with every other
  // character ASCII, V8 keeps the source as a one-byte string, which it reads faster.
  legalComments: 'external',
  charset: 'ascii',
  logLevel: 'warning',
};

Promise.all([
  esbuild.build({
    ...shared,
    entryPoints: [path.join(cli, 'dist', 'main.js')],
    outfile: path.join(cli, 'dist', 'ctr.bundle.js'),
    // Each bundle is the body of the function bin/ctr.js calls as a module's: with the wrapper
    // in the file, V8 compiles the string as read, instead of a copy joined to Node's.
    banner: { js: BUNDLE_WRAPPER.head },
    footer: { js: BUNDLE_WRAPPER.tail },
    // ssh2 ships an optional native addon; it stays a package of its own, loaded on use.
    external: ['ssh2', 'cpu-features'],
    plugins: [lazyModules, undiciApart, packagesApart],
  }),
  esbuild.build({
    ...shared,
    stdin: { contents: MORE_ENTRY, resolveDir: cli, sourcefile: 'more-bundle-entry.js' },
    outfile: path.join(cli, 'dist', MORE_BUNDLE),
    banner: { js: BUNDLE_WRAPPER.head },
    footer: { js: BUNDLE_WRAPPER.tail },
    external: ['ssh2', 'cpu-features'],
    plugins: [undiciApart, sharedPackages],
  }),
  esbuild.build({
    ...shared,
    entryPoints: [require.resolve('undici', { paths: [path.join(__dirname, '..', 'packages', 'registry')] })],
    outfile: path.join(cli, 'dist', UNDICI_BUNDLE),
  }),
]).catch(() => {
  process.exitCode = 1;
});
