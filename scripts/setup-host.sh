#!/usr/bin/env bash
# Make this machine able to build, run and test ctr. Idempotent; run as root.
# Installs the real components ctr drives (DESIGN.md, "Real components"), then the npm
# dependencies, then builds every package.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  runc conmon                    # run and monitor containers
  busybox-static                 # the base image when there is no internet
  containernetworking-plugins    # CNI bridge / host-local / portmap / loopback
  iproute2 iptables              # namespaces, veth, bridges, NAT
  docker-registry                # a registry ctr did not write, for interop tests
  skopeo umoci                   # image tools ctr did not write, for interop tests
  tar gzip util-linux procps     # reference tools for benchmarks and tests
  attr                           # setfattr/getfattr: layer xattrs and overlay opaque markers
  openssh-server                 # sshd for the ssh:// daemon client test (@ctr/api)
  docker-compose                 # docker-compose 1.29 against ctrd (@ctr/api)
  tini                           # --init: the static tini Docker ships as docker-init
  libio-socket-ssl-perl          # syslog log driver over TLS (tcp+tls://), from the log writer
  openssl                        # the swarm's root CA and node certificates (@ctr/swarm)
)

missing=()
for p in "${packages[@]}"; do
  [[ "$p" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup-host: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The docker CLI (client only) drives ctrd in @ctr/api's tests. Debian's docker.io brings
# dockerd too: it is never started (no service is enabled, tests talk to ctrd only).
if ! command -v docker >/dev/null 2>&1; then
  echo "setup-host: installing docker.io for its docker CLI"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now docker.socket docker >/dev/null 2>&1 || true; fi
fi

# Debian starts the registry as a service on :5000 when it can; tests start their own.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now docker-registry >/dev/null 2>&1 || true; fi

# npm ci only when the lock file changed since the last install (it empties node_modules).
stamp=node_modules/.ctr-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi
npm run build
