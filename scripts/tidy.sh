#!/usr/bin/env bash
# clang-tidy (.clang-tidy) on the C++ files changed since BASE (default: the
# last commit's), or on every file with --all. Needs the release tree's
# compile_commands.json (scripts/build.sh). Exits non-zero on any finding.
#   scripts/tidy.sh [BASE | --all]
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--all" ]]; then
  files=$(git ls-files 'server/*.cc' 'clients/*.cc' 'bench/*.cc' 'tests/*.cc')
else
  base="${1:-HEAD~1}"
  git rev-parse -q --verify "$base" >/dev/null || base=$(git rev-list --max-parents=0 HEAD)
  files=$(git diff --name-only --diff-filter=AM "$base" -- 'server/*.cc' 'clients/*.cc' \
    'bench/*.cc' 'tests/*.cc')
fi
# Only what the release tree compiles (the fuzz targets have their own tree).
files=$(for file in $files; do
  grep -q "\"file\": \".*/$file\"" build/compile_commands.json && echo "$file"
done)
if [[ -z "$files" ]]; then
  echo "tidy: no changed C++ files"
  exit 0
fi
echo "tidy: $(echo "$files" | wc -l) files"
# GCC-only warning flags in the compile commands are not clang-tidy's business.
echo "$files" | xargs -P "$(nproc)" -n 4 clang-tidy -p build --quiet \
  --extra-arg=-Wno-unknown-warning-option
