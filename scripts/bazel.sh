#!/usr/bin/env bash
# The Bazel build (Debian's bazel-bootstrap 4.2.3, offline, against the system
# libraries; see WORKSPACE and bazel/): builds everything (`bazel build //...`:
# roomcastd, the CLI, the client library, bench, the tests), runs the unit
# tests (`bazel test //...`), smoke-tests the Bazel-built roomcastd on
# 127.0.0.1 (--version, /healthz, /readyz, an HTTP emit reaching a real
# socket.io-client, a clean SIGTERM exit), checks that CMake and Bazel
# compile the same files (bazel/check_sources.mjs, and that it does catch a
# file missing on either side), and that the BUILD files enforce the floors of
# docs/ARCHITECTURE.md (probes in a scratch copy of the workspace: a dep up or
# sideways, a pure floor linking gRPC, a target outside a floor's visibility,
# a sideways include). Prints "N passed, N failed"; exits non-zero on any
# failure. Runs inside CI's build lock: it takes no lock itself.
#
# Bazel's output base is kept under ${ROOMCAST_BAZEL_CACHE:-~/.cache/roomcast-bazel}
# (one per checkout), with a disk cache shared by all checkouts, so a second
# run rebuilds only what changed. BAZEL_JOBS (default: nproc),
# BAZEL_COMPILATION_MODE (default: fastbuild).
#   scripts/bazel.sh
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$SECONDS

passed=0
failed=0
finished=0
tmp=$(mktemp -d)
server_pid=""
listener_pid=""
bazel_started=0

pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

cleanup() {
  local status=$?
  if [[ -n "$listener_pid" ]]; then kill "$listener_pid" 2>/dev/null; wait "$listener_pid" 2>/dev/null; fi
  if [[ -n "$server_pid" ]]; then kill -KILL "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  # The Bazel server (a JVM, ~1 GB) does not outlive the run.
  if ((bazel_started)); then bazel "${startup[@]}" shutdown >/dev/null 2>&1; fi
  if [[ -d "$tmp/probe-output" ]]; then
    (cd "$tmp/probe" && bazel --output_base="$tmp/probe-output" shutdown >/dev/null 2>&1)
  fi
  chmod -R u+w "$tmp" 2>/dev/null
  rm -rf "$tmp"
  if ((!finished)); then
    echo "bazel.sh: stopped before the checks were done (exit $status)"
    echo "$passed passed, $((failed + 1)) failed"
    exit 1
  fi
}
trap cleanup EXIT

# What the build needs (bazel-bootstrap, the -dev packages, gtest), and node
# with socket.io-client for the smoke test.
scripts/install-deps.sh --bazel
command -v bazel >/dev/null || { echo "bazel.sh: bazel is not installed (apt-get install bazel-bootstrap)" >&2; exit 1; }
[[ -d tests/node_modules/socket.io-client ]] || (cd tests && npm ci --no-audit --no-fund --loglevel=error)

cache=${ROOMCAST_BAZEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/roomcast-bazel}
checkout=$(printf '%s' "$root" | md5sum | cut -c1-12)
mkdir -p "$cache/$checkout" "$cache/disk"
startup=(--output_base="$cache/$checkout/output_base" --max_idle_secs=600)
flags=(--jobs="${BAZEL_JOBS:-$(nproc)}" -c "${BAZEL_COMPILATION_MODE:-fastbuild}"
  --disk_cache="$cache/disk" --color=no --curses=no)
bazel_started=1

step() {
  local name=$1
  shift
  local t=$SECONDS
  if "$@"; then pass "$name ($((SECONDS - t)) s)"; else fail "$name ($((SECONDS - t)) s)"; fi
}

echo "== bazel build //... (${flags[*]})"
step "bazel build //..." bazel "${startup[@]}" build "${flags[@]}" //...

echo "== bazel test //..."
t=$SECONDS
bazel "${startup[@]}" test "${flags[@]}" //... 2>&1 | tee "$tmp/test.log"
test_status=${PIPESTATUS[0]}
# One line per test target: "//tests/unit:core_test   PASSED in 0.4s".
while read -r target result _; do
  if [[ "$result" == PASSED ]]; then pass "test $target"; else fail "test $target ($result)"; fi
done < <(grep -E '^//[^ ]+ +(\(cached\) )?(PASSED|FAILED|TIMEOUT|NO STATUS|FLAKY|INCOMPLETE|REMOTE FAILURE|FAILED TO BUILD)' "$tmp/test.log" |
  sed -E 's/ \(cached\)//')
if ((test_status == 0)); then pass "bazel test //... ($((SECONDS - t)) s)"; else fail "bazel test //... (exit $test_status, $((SECONDS - t)) s)"; fi

echo "== CMake and Bazel compile the same files"
# A configure only (no compile): CMake's compile_commands.json lists what it builds.
check_sources() {
  cmake -S "$root" -B "$cache/$checkout/cmake-sources" -G Ninja >"$tmp/cmake.log" 2>&1 ||
    { cat "$tmp/cmake.log"; return 1; }
  bazel "${startup[@]}" query --output=label_kind \
    'labels(srcs, kind("cc_(library|binary|test)", //...))' >"$tmp/bazel-srcs.txt" 2>"$tmp/query.log" ||
    { cat "$tmp/query.log"; return 1; }
  node bazel/check_sources.mjs "$root" "$cache/$checkout/cmake-sources/compile_commands.json" "$tmp/bazel-srcs.txt"
}
step "same sources in CMake and Bazel" check_sources
# The check itself: a file dropped from the Bazel list must fail it.
catches_missing() {
  local dropped
  dropped=$(grep -m1 -E '^source file //server/[a-z]+:[a-z_]+\.cc$' "$tmp/bazel-srcs.txt") || return 1
  grep -vxF "$dropped" "$tmp/bazel-srcs.txt" >"$tmp/bazel-srcs-missing.txt"
  local name=${dropped##*//}
  name=${name/://}
  ! node bazel/check_sources.mjs "$root" "$cache/$checkout/cmake-sources/compile_commands.json" \
    "$tmp/bazel-srcs-missing.txt" 2>"$tmp/missing.log" &&
    grep -qxF "  only in the CMake build: $name" "$tmp/missing.log"
}
step "the sources check catches a file missing from Bazel" catches_missing
# And one dropped from CMake's list (next to the real one: generated files are
# named by their path under its directory).
catches_extra() {
  local commands=$cache/$checkout/cmake-sources/compile_commands.json
  local missing=$cache/$checkout/cmake-sources/compile_commands.missing-one.json
  node -e '
    const fs = require("fs");
    const all = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    const i = all.findIndex((e) => /\/server\/core\/[a-z_]+\.cc$/.test(e.file));
    console.log(all[i].file);
    fs.writeFileSync(process.argv[2], JSON.stringify(all.filter((_, j) => j !== i)));
  ' "$commands" "$missing" >"$tmp/dropped.txt" || return 1
  local name
  name=$(sed "s|^$root/||" "$tmp/dropped.txt")
  ! node bazel/check_sources.mjs "$root" "$missing" "$tmp/bazel-srcs.txt" 2>"$tmp/extra.log" &&
    grep -qxF "  only in the Bazel build: $name" "$tmp/extra.log"
  local status=$?
  rm -f "$missing"
  return $status
}
step "the sources check catches a file missing from CMake" catches_extra

echo "== the BUILD files enforce the floors (probes in a scratch copy of the workspace)"
# Only the BUILD/Starlark files, server/ and what the
# repositories read; its own output base, removed afterwards.
probe=$tmp/probe
mkdir -p "$probe"
(find . \( -path ./.git -o -path './build*' -o -name node_modules \) -prune -o -type f \
  \( -name BUILD.bazel -o -name WORKSPACE -o -name '*.bzl' -o -name '.bazel*' -o -name '*.sh' -o -name '*.proto' \
  -o -path './server/*' -o -path ./CMakeLists.txt -o -path ./README.md \) -print |
  tar -cf - -T - | tar -xf - -C "$probe") || fail "scratch copy of the workspace"
probe_bazel() { (cd "$probe" && bazel --output_base="$tmp/probe-output" --max_idle_secs=60 "$@" --color=no --curses=no); }
# expect_build_failure NAME PATTERN BUILD-ARGS...: the probe build must fail,
# with output matching PATTERN.
expect_build_failure() {
  local name=$1 pattern=$2
  shift 2
  if probe_bazel build "$@" >"$tmp/probe.log" 2>&1; then
    fail "$name: the build passed"
  elif grep -qE "$pattern" "$tmp/probe.log"; then
    pass "$name"
    grep -m1 -E "$pattern" "$tmp/probe.log" | sed -E 's/^.*(ERROR|[Ee]rror)/     \1/' | cut -c1-160
  else
    fail "$name: failed, but not with /$pattern/:"
    grep -E 'ERROR|error' "$tmp/probe.log" | head -5 | sed 's/^/  /'
  fi
}
# expect_probe NAME PATTERN FILE CONTENT-TO-APPEND TARGET [BUILD_FLAGS]: appends
# to FILE, builds TARGET, wants a failure whose output matches PATTERN.
expect_probe() {
  local name=$1 pattern=$2 file=$3 content=$4 target=$5
  shift 5
  cp "$probe/$file" "$tmp/saved"
  printf '%s\n' "$content" >>"$probe/$file"
  expect_build_failure "$name" "$pattern" "$@" "$target"
  cp "$tmp/saved" "$probe/$file"
}
floor_with_dep() { # FLOOR DEP: server/FLOOR/BUILD.bazel with DEP first in its deps
  sed -E "s|^    deps = \\[$|    deps = [\"$2\",|" "$root/server/$1/BUILD.bazel"
}
probe_rewrite() { # name pattern floor extra-dep
  local name=$1 pattern=$2 floor=$3 dep=$4
  floor_with_dep "$floor" "$dep" >"$probe/server/$floor/BUILD.bazel"
  expect_build_failure "$name" "$pattern" --nobuild "//server/$floor"
  cp "$root/server/$floor/BUILD.bazel" "$probe/server/$floor/BUILD.bazel"
}
probe_rewrite "a floor may not depend on a floor above it (codec -> core)" \
  'codec may not depend on core, a floor above it' codec //server/core
probe_rewrite "a floor may not depend on a floor beside it (auth -> broker)" \
  'auth may not depend on broker, a floor beside it' auth //server/broker
probe_rewrite "a pure floor may not link gRPC (socketio -> @system//:grpcpp)" \
  'socketio is a pure floor and may not depend on @system//:grpcpp' socketio @system//:grpcpp
expect_probe "visibility: a target beside a floor cannot use it (//server/auth:probe -> //server/broker)" \
  "target '//server/broker:broker' is not visible from target '//server/auth:probe'" server/auth/BUILD.bazel \
  'cc_library(name = "probe", deps = ["//server/broker"])' //server/auth:probe --nobuild
printf '#include "server/broker/local_broker.h"\n' >"$probe/server/auth/sideways.cc"
expect_probe "a sideways include does not compile (auth includes server/broker/local_broker.h)" \
  'server/broker/local_broker.h' server/auth/BUILD.bazel \
  'cc_library(name = "sideways", srcs = ["sideways.cc"], copts = ["-std=c++20"], deps = ["//server/core"])' \
  server/auth/sideways.cc --compile_one_dependency "${flags[@]}"
# (--compile_one_dependency: that file's target only; the floors below it are
# compiled too, disk-cache hits after the main build.)
# The control: the same, including a header of a floor below, compiles.
printf '#include "server/core/event.h"\n' >"$probe/server/auth/below.cc"
printf '%s\n' 'cc_library(name = "below", srcs = ["below.cc"], copts = ["-std=c++20"], deps = ["//server/core"])' \
  >>"$probe/server/auth/BUILD.bazel"
if probe_bazel build --compile_one_dependency "${flags[@]}" server/auth/below.cc >"$tmp/probe.log" 2>&1; then
  pass "control: the same probe including a floor below compiles"
else
  fail "control: the same probe including a floor below compiles"
  grep -E 'ERROR|error' "$tmp/probe.log" | head -5 | sed 's/^/  /'
fi
probe_bazel shutdown >/dev/null 2>&1
chmod -R u+w "$tmp/probe-output" 2>/dev/null
rm -rf "$tmp/probe-output" "$tmp/probe"

echo "== smoke test of the Bazel-built roomcastd"
bin=$(bazel "${startup[@]}" info "${flags[@]}" bazel-bin 2>/dev/null)
roomcastd="$bin/server/app/roomcastd"
version=$(sed -nE 's/^project\(roomcast VERSION ([0-9.]+).*/\1/p' CMakeLists.txt)
if [[ "$("$roomcastd" --version 2>&1)" == "roomcastd $version" ]]; then
  pass "roomcastd --version is CMakeLists.txt's $version"
else
  fail "roomcastd --version: '$("$roomcastd" --version 2>&1)', not 'roomcastd $version'"
fi

# A clean environment: no settings from the caller's (INTERNAL_API_KEY, REDIS_URL, ...).
env -i PATH="$PATH" HOME="$HOME" "$roomcastd" --host 127.0.0.1 --port 0 --grpc_port 0 --shards 1 \
  --drain_grace_ms 200 --drain_deadline_ms 3000 >"$tmp/roomcastd.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 100); do
  port=$(sed -nE 's/.*listening .* port=([0-9]+) .*/\1/p' "$tmp/roomcastd.log" | head -1)
  [[ -n "$port" ]] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -n "$port" ]]; then
  pass "roomcastd listens on 127.0.0.1:$port"
  base="http://127.0.0.1:$port"
  if curl -fsS --max-time 5 "$base/healthz" >/dev/null; then pass "GET /healthz"; else fail "GET /healthz"; fi
  if curl -fsS --max-time 5 "$base/readyz" >/dev/null; then pass "GET /readyz"; else fail "GET /readyz"; fi

  # A real socket.io-client joins a room; an emit to it over the HTTP API
  # must reach it.
  mkfifo "$tmp/listener.in"
  node tests/support/sio_listener.mjs "$base" bazel-smoke bazel.smoke <"$tmp/listener.in" >"$tmp/listener.out" 2>&1 &
  listener_pid=$!
  exec 3>"$tmp/listener.in"
  joined=0
  for _ in $(seq 100); do
    grep -q '^joined' "$tmp/listener.out" && { joined=1; break; }
    kill -0 "$listener_pid" 2>/dev/null || break
    sleep 0.1
  done
  delivered=0
  if ((joined)); then
    curl -fsS --max-time 5 -X POST "$base/api/socket/emit" -H 'content-type: application/json' \
      -d '{"room":"bazel-smoke","event":"bazel.smoke","data":{"built":"bazel"}}' >"$tmp/emit.out" 2>&1
    for _ in $(seq 50); do
      grep -qF '{"event":"bazel.smoke","args":[{"built":"bazel"}]}' "$tmp/listener.out" && { delivered=1; break; }
      sleep 0.1
    done
  fi
  if ((delivered)); then
    pass "POST /api/socket/emit reaches a socket.io-client in the room"
  else
    fail "POST /api/socket/emit reaches a socket.io-client in the room"
    echo "  listener: $(cat "$tmp/listener.out")"
    echo "  emit: $(cat "$tmp/emit.out" 2>/dev/null)"
  fi
  exec 3>&-
  wait "$listener_pid" 2>/dev/null
  listener_pid=""

  kill -TERM "$server_pid"
  code=""
  for _ in $(seq 50); do
    if ! kill -0 "$server_pid" 2>/dev/null; then wait "$server_pid"; code=$?; break; fi
    sleep 0.1
  done
  if [[ "$code" == 0 ]]; then pass "SIGTERM: roomcastd exits 0 within its drain deadline"; else fail "SIGTERM: exit '${code:-still running}'"; fi
  [[ -n "$code" ]] && server_pid=""
else
  fail "roomcastd listens (no listening line)"
  sed 's/^/  /' "$tmp/roomcastd.log"
fi

finished=1
echo "bazel.sh: $((SECONDS - started)) s"
echo "$passed passed, $failed failed"
((failed == 0))
