#!/usr/bin/env node
'use strict';
require('../dist/daemon-main.js')
  .daemonMain(process.argv.slice(2))
  .then((code) => process.exit(code));
