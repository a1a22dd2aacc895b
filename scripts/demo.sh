#!/usr/bin/env bash
# The main job on a fresh machine: install what ctr needs, make a busybox base image from
# the host's static busybox (no internet), build examples/hello from its Dockerfile, run it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-host.sh >/dev/null
ctr() { packages/cli/bin/ctr "$@"; }

if ! ctr image inspect busybox:latest >/dev/null 2>&1; then
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  node scripts/busybox-rootfs.js "$rootfs"
  echo "+ ctr import -c 'CMD [\"sh\"]' <busybox rootfs> busybox:latest"
  ctr import -c 'CMD ["sh"]' "$rootfs" busybox:latest
fi
echo '+ ctr build -t hello examples/hello'
ctr build -t hello examples/hello
echo '+ ctr run --rm hello'
ctr run --rm hello
