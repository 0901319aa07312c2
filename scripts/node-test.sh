#!/usr/bin/env bash
# node --test, one file at a time, with the flags the node on PATH has:
# --test-concurrency (Node 18.19+) and --test-timeout (Node 20.11+; Debian
# 12's Node 18 lacks it, so there only the tests' own timeouts apply).
#   scripts/node-test.sh TIMEOUT_MS FILE_OR_DIR...
set -euo pipefail
timeout_ms=$1
shift
if ! node --test-concurrency=1 -e '' 2>/dev/null; then
  echo "node-test: Node.js 18.19+ is required (node $(node --version) has no --test-concurrency)" >&2
  exit 1
fi
flags=(--test --test-concurrency=1)
if node --test-timeout=1 -e '' 2>/dev/null; then
  flags+=(--test-timeout="$timeout_ms")
fi
exec node "${flags[@]}" "$@"
