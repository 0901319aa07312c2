#!/usr/bin/env bash
# Installs what is missing (apt packages, gnuplot, socket.io for the reference
# server), builds roomcastd, the load generator and the ceiling server, and
# runs every benchmark scenario against every server. Arguments go to
# bench/run.mjs (e.g. --repeats=5, --scenarios=fanout,steady, --smoke).
# Results: bench/results/results.md, results.json, plots/ (see bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --bench
scripts/build.sh
exec node bench/run.mjs "$@"
