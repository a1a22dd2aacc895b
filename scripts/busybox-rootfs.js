#!/usr/bin/env node
// Write a busybox root filesystem (the host's static /bin/busybox, its applet links,
// /etc/passwd and /etc/group) into DIR — the base image when there is no internet:
//   node scripts/busybox-rootfs.js DIR && ctr import -c 'CMD ["sh"]' DIR busybox:latest
'use strict';
const { isCtrError } = require('@ctr/errors');
const { createBusyboxRootfs } = require('@ctr/image');

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/busybox-rootfs.js DIR');
  process.exit(2);
}
createBusyboxRootfs(dir).then(
  () => undefined,
  (error) => {
    // As ctr prints a CtrError: its message, then on the next line its hint (what to do).
    console.error(`Error: ${isCtrError(error) ? error.describe() : error.message}`);
    process.exit(1);
  },
);
