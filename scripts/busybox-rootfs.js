#!/usr/bin/env node
// Write a busybox root filesystem (the host's static /bin/busybox, its applet links,
// /etc/passwd and /etc/group) into DIR — the base image when there is no internet:
//   node scripts/busybox-rootfs.js DIR && ctr import -c 'CMD ["sh"]' DIR busybox:latest
'use strict';
const { createBusyboxRootfs } = require('@ctr/image');

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/busybox-rootfs.js DIR');
  process.exit(2);
}
createBusyboxRootfs(dir).then(
  () => undefined,
  (error) => {
    console.error(`Error: ${error.message}`);
    process.exit(1);
  },
);
