#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit (GoogleTest via
# ctest), then integration, conformance and browser tests (node:test against
# the built roomcastd and protocol_server), then the Node.js client package's
# own tests, and the Helm chart (scripts/helm.sh). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
scripts/build.sh

status=0
echo "== layering (docs/ARCHITECTURE.md) and format (.clang-format)"
node scripts/check-layers.mjs || status=1
git ls-files '*.h' '*.cc' | grep -v node_modules | xargs clang-format --dry-run --Werror || status=1
echo "== unit tests"
ctest --test-dir build --output-on-failure --timeout 120 || status=1
echo "== integration, conformance and browser tests"
(cd tests && ../scripts/node-test.sh 120000 integration/ conformance/ e2e/) || status=1
echo "== helm chart (lint, template, schemas, node:test)"
scripts/helm.sh || status=1
echo "== clients/node"
(cd clients/node && npm ci --no-audit --no-fund --loglevel=error && npm test) || status=1
exit $status
