#!/usr/bin/env bash
# Installs what the tests need, builds, and runs the whole suite (unit + integration with real runc,
# conmon, CNI, the docker CLI, kubectl, etcd). Run as root. Usage: scripts/test.sh [test-file-filter]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh

filter="${1:-}"
mapfile -t files < <(find dist -name '*.test.js' -not -path '*/node_modules/*' | grep -- "$filter" | sort)
if [ ${#files[@]} -eq 0 ]; then echo "no test files match '$filter'"; exit 1; fi
# Tests that share host resources (netns, cgroups, ports) are written to be isolated from each other;
# two files at a time keeps this 2-core machine responsive.
exec node --test --test-concurrency=2 --test-timeout=600000 "${files[@]}"
