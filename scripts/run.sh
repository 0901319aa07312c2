#!/usr/bin/env bash
# Installs what is missing, builds, and runs roomcastd on its embedded default
# (single node, in memory). Arguments go to roomcastd, e.g. --port=3002.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/server/roomcastd "$@"
