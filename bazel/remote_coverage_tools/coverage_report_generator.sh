#!/bin/sh
# Concatenates the tracefiles listed in --reports_file into --output_file.
#   coverage_report_generator.sh --reports_file=LIST --output_file=FILE [...]
set -eu
reports=""
out=""
for arg in "$@"; do
  case "$arg" in
    --reports_file=*) reports="${arg#*=}" ;;
    --output_file=*) out="${arg#*=}" ;;
  esac
done
[ -n "$reports" ] && [ -n "$out" ] || { echo "coverage_report_generator: needs --reports_file and --output_file" >&2; exit 2; }
: > "$out"
while read -r file; do [ -f "$file" ] && cat "$file" >> "$out"; done < "$reports"
