#!/usr/bin/env bash
# Installs everything skiff and its tests need on a fresh Debian 12 machine (run as root). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  runc conmon                      # OCI runtime and the per-container monitor
  containernetworking-plugins      # CNI plugins in /usr/lib/cni
  iproute2 iptables nftables       # netns, veth, firewall rules
  busybox-static                   # base image without a registry
  docker-registry skopeo umoci     # a real OCI registry and OCI tooling (tests, peers)
  etcd-server                      # the distributed store backend
  wrk hyperfine sqlite3            # benchmarks, inspection
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  # Do not start services that packages ship (docker-registry, etcd): tests start their own on loopback.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run -s build
