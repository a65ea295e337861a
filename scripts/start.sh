#!/usr/bin/env bash
# Installs what skiff needs and starts it in the foreground: a single-node cluster with the embedded
# SQLite store (control plane + node agent + engine). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec bin/skiff server "$@"
