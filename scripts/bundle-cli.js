#!/usr/bin/env node
// `npm run build`'s last step: the ctr command as one file. Node resolving, reading and
// compiling ~150 modules costs more than starting the container `ctr run` is for; one
// bundle (plus the V8 code cache bin/ctr.js keeps beside it) loads in a fraction of that.
'use strict';
const path = require('node:path');
const esbuild = require('esbuild');

const cli = path.join(__dirname, '..', 'packages', 'cli');

esbuild
  .build({
    entryPoints: [path.join(cli, 'dist', 'main.js')],
    outfile: path.join(cli, 'dist', 'ctr.bundle.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // ssh2 ships an optional native addon; it stays a package of its own, loaded on use.
    external: ['ssh2', 'cpu-features'],
    minifyWhitespace: true,
    minifySyntax: true,
    // Licence comments go to ctr.bundle.js.LEGAL.txt: with them, and with every other
    // character ASCII, V8 keeps the source as a one-byte string, which it reads faster.
    legalComments: 'external',
    charset: 'ascii',
    logLevel: 'warning',
  })
  .catch(() => {
    process.exitCode = 1;
  });
