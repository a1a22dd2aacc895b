#!/usr/bin/env node
'use strict';
require('../dist/main.js')
  .main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env })
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`Error: ${error && error.message ? error.message : error}\n`);
      process.exitCode = 125;
    },
  );
