#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for
# SECONDS (default 60) on a scratch copy of its seed corpus, printing the
# executions per second and the coverage reached. Non-zero on any crash.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
scripts/install-deps.sh --fuzz
scripts/build.sh fuzz

for target in engineio_payload socketio_decoder auth_tokens http_shim websocket_reader engine_session \
  redis_messages client_event_requests control_headers; do
  work="$(mktemp -d)"
  cp tests/fuzz/corpus/"$target"/* "$work"/
  log="$(mktemp)"
  echo "== fuzz $target (${seconds}s)"
  if ! build-fuzz/tests/fuzz/"${target}_fuzz" -max_total_time="$seconds" -print_final_stats=1 \
       -artifact_prefix="$work/" "$work" >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz: $target crashed; the input is in $work" >&2
    exit 1
  fi
  grep -E "DONE|stat::number_of_executed_units|stat::average_exec_per_sec" "$log" || true
  rm -rf "$work" "$log"
done
