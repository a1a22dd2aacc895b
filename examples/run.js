#!/usr/bin/env node
// Run a TypeScript example straight from source, no build step:
//   node examples/run.js <name> [args…]     (runs examples/<name>.ts's main(args))
// Each .ts file is transpiled on load with the `typescript` package (types are checked by
// `npm run typecheck`, not here), and `@ctr/<pkg>` resolves to packages/<pkg>/src.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const ts = require('typescript');

const root = path.join(__dirname, '..');
const name = process.argv[2];
if (!name || !fs.existsSync(path.join(__dirname, `${name}.ts`))) {
  const available = fs.readdirSync(__dirname).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
  console.error(`usage: node examples/run.js <name> [args…]\nexamples: ${available.join(', ')}`);
  process.exit(2);
}

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  module._compile(outputText, filename);
};

const resolve = Module._resolveFilename;
Module._resolveFilename = function resolveCtr(request, parent, ...rest) {
  const ctr = /^@ctr\/([a-z-]+)$/.exec(request);
  const target = ctr ? path.join(root, 'packages', ctr[1], 'src', 'index.ts') : request;
  return resolve.call(this, target, parent, ...rest);
};

require(path.join(__dirname, `${name}.ts`))
  .main(process.argv.slice(3))
  .catch((error) => {
    console.error(typeof error?.describe === 'function' ? `error: ${error.describe()}` : error);
    process.exitCode = 1;
  });
