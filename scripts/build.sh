#!/usr/bin/env bash
# Configures and builds a CMakePresets.json preset (default: release, into
# build/). BUILD_TYPE=Debug picks the debug preset.
#   scripts/build.sh [PRESET] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-$([[ "${BUILD_TYPE:-}" == "Debug" ]] && echo debug || echo release)}"
shift || true
flags=()
# CI: the release tree (g++) treats every warning as an error.
if [[ "${CI:-}" == "true" && "$preset" == "release" ]]; then
  flags+=(-DCMAKE_COMPILE_WARNING_AS_ERROR=ON)
fi
cmake --preset "$preset" "${flags[@]}" >/dev/null
targets=()
for target in "$@"; do targets+=(--target "$target"); done
cmake --build --preset "$preset" --parallel "$(nproc)" "${targets[@]}"
