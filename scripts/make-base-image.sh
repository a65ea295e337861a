#!/usr/bin/env bash
# Makes a minimal base image from the host's busybox-static (no registry needed) and loads it into the
# engine at DOCKER_HOST (default: skiff's socket), tagged busybox:latest (or the tag given).
#   scripts/make-base-image.sh [TAG]            # load into the engine
#   scripts/make-base-image.sh [TAG] -o FILE    # only write the docker-archive tarball
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-busybox:latest}"
[ -x /bin/busybox ] || { echo "busybox-static is not installed (apt-get install busybox-static)" >&2; exit 1; }
[ -f dist/src/engine/images/busybox.js ] || npm run -s build
make_archive() {
  node -e 'process.stdout.write(require("./dist/src/engine/images/busybox.js").busyboxArchive(process.argv[1]))' "$tag"
}
if [ "${2:-}" = "-o" ]; then
  make_archive > "${3:?missing file after -o}"
  exit 0
fi
export DOCKER_HOST="${DOCKER_HOST:-unix:///run/skiff/docker.sock}"
make_archive | docker load
