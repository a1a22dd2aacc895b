'use strict';
// Benchmarks give their containers a cgroup parent of their own; this removes it and what
// runc left in it, in every controller, once the containers are gone.
const fs = require('node:fs');
const path = require('node:path');

function removeCgroupTree(parent) {
  for (const controller of fs.readdirSync('/sys/fs/cgroup')) {
    const dir = path.join('/sys/fs/cgroup', controller, parent);
    for (const sub of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
      if (sub.isDirectory()) fs.rmdirSync(path.join(dir, sub.name));
    }
    try {
      fs.rmdirSync(dir);
    } catch {
      // already gone, or still busy
    }
  }
}

module.exports = { removeCgroupTree };
