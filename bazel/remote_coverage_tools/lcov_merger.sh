#!/bin/sh
# Concatenates the lcov tracefiles (*.dat) of one test's coverage directory.
#   lcov_merger.sh --coverage_dir=DIR --output_file=FILE [other flags ignored]
set -eu
dir=""
out=""
for arg in "$@"; do
  case "$arg" in
    --coverage_dir=*) dir="${arg#*=}" ;;
    --output_file=*) out="${arg#*=}" ;;
  esac
done
[ -n "$dir" ] && [ -n "$out" ] || { echo "lcov_merger: needs --coverage_dir and --output_file" >&2; exit 2; }
: > "$out"
find "$dir" -name '*.dat' -type f | sort | while read -r file; do cat "$file" >> "$out"; done
