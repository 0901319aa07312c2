#!/usr/bin/env bash
# The unit and C++ integration tests, then the node suites that send bad
# input and churn connections, against an ASan/UBSan build (build-asan/).
# Every sanitizer report is written under build-asan/sanitizer-logs/ and
# fails the run, even one from a server a test had already stopped.
# Run after scripts/test.sh (it installs the tools).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh asan roomcast_unit_tests roomcast_integration_tests roomcastd protocol_server
logs="$PWD/build-asan/sanitizer-logs"
rm -rf "$logs" && mkdir -p "$logs"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$logs/asan"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizer/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"

status=0
echo "== unit and C++ integration tests (ASan/UBSan)"
ctest --test-dir build-asan --output-on-failure --timeout 240 || status=1

echo "== node suites against the ASan/UBSan roomcastd and protocol_server"
# Under ASan the servers run 2-3x slower: timing-bound tests read the scale.
(cd tests && ROOMCAST_BUILD_DIR="$PWD/../build-asan" ROOMCAST_TIME_SCALE=3 \
  ../scripts/node-test.sh 240000 \
  integration/bad_input.test.js integration/websocket_frames.test.js \
  integration/limits_policy.test.js integration/slow_consumers.test.js \
  integration/transports.test.js integration/heartbeat_reconnect.test.js \
  integration/churn_garbage.test.js integration/cluster_faults.test.js \
  integration/cluster_emitter.test.js integration/recovery.test.js \
  integration/recovery_cluster.test.js integration/event_log_postgres.test.js \
  integration/client_events.test.js integration/client_events_cluster.test.js \
  integration/connection_defaults.test.js conformance/) || status=1

# A report is a file that names an error; LSan's suppression summaries are not.
reports=$(grep -lE "ERROR: |runtime error|WARNING: " "$logs"/* 2>/dev/null || true)
if [[ -n "$reports" ]]; then
  echo "sanitizer reports:" >&2
  for report in $reports; do
    echo "--- $report" >&2
    head -n 60 "$report" >&2
  done
  status=1
else
  echo "sanitizer reports: none"
fi
exit $status
