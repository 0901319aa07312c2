#!/usr/bin/env bash
# The unit and C++ integration tests again, built with AddressSanitizer and
# UBSan (build-asan/). Run after scripts/test.sh (it installs the tools).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROOMCAST_SANITIZE=ON >/dev/null
cmake --build build-asan --parallel "$(nproc)" --target roomcast_unit_tests roomcast_integration_tests
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizer/lsan.supp"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure --timeout 120
