#!/usr/bin/env bash
# Installs what Roomcast needs on Debian 12, skipping what is already there.
#   scripts/install-deps.sh          build and run
#   scripts/install-deps.sh --test   also the test tools (Chromium, npm packages)
#   scripts/install-deps.sh --fuzz   also clang for the libFuzzer targets
#   scripts/install-deps.sh --bench  also gnuplot, PostgreSQL (durable-emit) and the reference socket.io server (npm)
#   scripts/install-deps.sh --bazel  also Bazel (Debian's bazel-bootstrap 4.2.3, with OpenJDK) for scripts/bazel.sh
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake ninja-build g++ pkg-config libssl-dev libabsl-dev libboost1.81-dev
  libboost-json1.81-dev libboost-url1.81-dev libspdlog-dev libgrpc++-dev libgrpc-dev
  protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libpqxx-dev prometheus-cpp-dev
  libhiredis-dev libmsgpuck-dev libcjose-dev libjansson-dev libcrypt-dev zlib1g-dev)
if [[ "${1:-}" == "--test" ]]; then
  # clang builds the sanitizer tree (ASan/UBSan, -Wthread-safety); ccache is shared by the trees.
  packages+=(libgtest-dev libgmock-dev chromium postgresql redis-server curl clang-format clang-tidy git
    clang libclang-rt-14-dev ccache)
  # tmux runs `roomcast top` in a terminal for its test (capture-pane).
  packages+=(tmux)
fi
if [[ "${1:-}" == "--fuzz" ]]; then
  packages+=(clang libclang-rt-14-dev)
fi
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(gnuplot-nox postgresql)
fi
if [[ "${1:-}" == "--bazel" ]]; then
  # scripts/bazel.sh: Bazel 4.2.3 (pulls OpenJDK), GoogleTest for the unit tests, curl for the smoke test.
  packages+=(bazel-bootstrap libgtest-dev libgmock-dev curl)
fi
# Node.js for the tests and the benchmarks: the one on PATH (CI's image has Node 20),
# else Debian's nodejs and npm (18.x; scripts/test.sh picks the node:test flags it has).
if [[ "${1:-}" == "--test" || "${1:-}" == "--bench" || "${1:-}" == "--bazel" ]]; then
  command -v node >/dev/null || packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ "${1:-}" == "--test" ]]; then
  command -v node >/dev/null || { echo "install-deps: Node.js 18.19+ is required for the tests" >&2; exit 1; }
  (cd tests && npm ci --no-audit --no-fund --loglevel=error)
fi
# The reference server: for the benchmarks, and for the tests' smoke run of them.
if [[ "${1:-}" == "--test" || "${1:-}" == "--bench" ]]; then
  command -v node >/dev/null || { echo "install-deps: Node.js 18.19+ is required" >&2; exit 1; }
  (cd bench/reference && npm ci --no-audit --no-fund --loglevel=error)
fi
