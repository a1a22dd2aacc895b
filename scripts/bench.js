#!/usr/bin/env node
// `npm run bench -- <name>`: build what the benchmark needs, then run bench/<name>.js.
// Each benchmark prints its headline ratio alone on its last line as `ratio=<number>`.
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync, readdirSync } = require('node:fs');
const path = require('node:path');

const benchDir = path.join(__dirname, '..', 'bench');
const name = process.argv[2];
const available = readdirSync(benchDir)
  .filter((f) => f.endsWith('.js'))
  .map((f) => f.slice(0, -3));
if (!name || !existsSync(path.join(benchDir, `${name}.js`))) {
  console.error(`usage: npm run bench -- <name>\nbenchmarks: ${available.join(', ') || '(none yet)'}`);
  process.exit(2);
}
// The whole build: benchmarks that start `ctr` measure the bundle, which a `tsc -b` alone leaves stale.
execFileSync('npm', ['run', '--silent', 'build'], { cwd: path.join(__dirname, '..'), stdio: 'inherit' });
execFileSync(process.execPath, [path.join(benchDir, `${name}.js`), ...process.argv.slice(3)], { stdio: 'inherit' });
