#!/usr/bin/env bash
# Builds the container image (Dockerfile) offline and checks it, with podman:
#  1. installs podman, runc and debootstrap if missing (apt-get);
#  2. a Debian 12 base: `debootstrap --variant=minbase bookworm` from the Debian
#     archive (no image registry needed), kept as a tarball between runs in
#     $ROOMCAST_IMAGE_CACHE (default /var/cache/roomcast-image) and rebuilt when
#     older than $ROOMCAST_IMAGE_ROOTFS_MAX_AGE_DAYS (30); `podman import`ed once;
#  3. `podman build --format docker --isolation=chroot --pull=never` against it,
#     the host's ccache bind-mounted (-v CCACHE_DIR:/ccache) and the sources
#     built at this checkout's path, so the compilations the CMake build already
#     made are cache hits (the build prints its ccache hit rate);
#  4. the image: HEALTHCHECK, STOPSIGNAL, ports, non-root user, no build tools;
#  5. runs it as helm/roomcast does (read-only root, no capabilities, no new
#     privileges; host network on 127.0.0.1, runc, cgroupfs, lowered nofile
#     and nproc limits):
#     /readyz, /healthz, the image's HEALTHCHECK, the process's uid, an emit
#     (curl POST /api/socket/emit) reaching a socket.io-client (tests/image/),
#     then `podman stop -t` (longer than the drain deadline) with a client
#     connected: /readyz turns 503, the client is disconnected, the container
#     exits 0 within the drain deadline.
# Prints each check and how long each step took, then "N passed, N failed";
# exits non-zero on any failure. Runs as root (as CI does): debootstrap needs it.
#
#   scripts/image.sh [--no-build] [--http-port=N] [--grpc-port=N]
# --no-build checks the image already built (tag $ROOMCAST_IMAGE_TAG).
# Environment: ROOMCAST_IMAGE_TAG (roomcast/roomcastd:<version>),
# ROOMCAST_IMAGE_HTTP_PORT / ROOMCAST_IMAGE_GRPC_PORT (default: free ports),
# ROOMCAST_IMAGE_NOFILE (16384), ROOMCAST_IMAGE_NPROC (4096),
# ROOMCAST_IMAGE_DRAIN_DEADLINE_MS (5000),
# ROOMCAST_IMAGE_MIRROR (http://deb.debian.org/debian),
# ROOMCAST_IMAGE_SECURITY_MIRROR (http://deb.debian.org/debian-security),
# CCACHE_DIR (default: ccache's own, ~/.cache/ccache), CI (passed to the build).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
started=$SECONDS

build=1
http_port=${ROOMCAST_IMAGE_HTTP_PORT:-}
grpc_port=${ROOMCAST_IMAGE_GRPC_PORT:-}
for arg in "$@"; do
  case $arg in
    --no-build) build=0 ;;
    --http-port=*) http_port=${arg#*=} ;;
    --grpc-port=*) grpc_port=${arg#*=} ;;
    *) echo "usage: scripts/image.sh [--no-build] [--http-port=N] [--grpc-port=N]" >&2; exit 2 ;;
  esac
done

version=$(sed -n 's/^project(roomcast VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
tag=${ROOMCAST_IMAGE_TAG:-roomcast/roomcastd:${version:-dev}}
cache=${ROOMCAST_IMAGE_CACHE:-/var/cache/roomcast-image}
max_age_days=${ROOMCAST_IMAGE_ROOTFS_MAX_AGE_DAYS:-30}
mirror=${ROOMCAST_IMAGE_MIRROR:-http://deb.debian.org/debian}
security_mirror=${ROOMCAST_IMAGE_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
nofile=${ROOMCAST_IMAGE_NOFILE:-16384}
nproc=${ROOMCAST_IMAGE_NPROC:-4096}
deadline_ms=${ROOMCAST_IMAGE_DRAIN_DEADLINE_MS:-5000}
grace_ms=1000
# podman stop waits this long before SIGKILL: well past the drain deadline.
stop_timeout_s=$((deadline_ms / 1000 + 10))
api_key=image-check-$RANDOM$RANDOM
container=roomcast-image-check-$$

passed=0
failed=0
finished=0
log=$(mktemp)
scratch=$(mktemp -d)
pids=()
container_started=0

# podman as this machine needs it: runc (crun fails on its cgroups), cgroupfs
# (no systemd), events in a file (no journald). Without systemd there is no
# timer for the image's HEALTHCHECK (podman logs an error about it and goes
# on); `podman healthcheck run` runs it on demand.
pm() { podman --runtime=runc --cgroup-manager=cgroupfs --events-backend=file "$@"; }
# podman's default nofile and nproc limits (over a million) are above what the
# kernel lets a process have here, and runc fails to start the container.
limits=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")

# Whatever stops the script, the container and the clients go, and the
# closing line is printed.
on_exit() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [[ $container_started -eq 0 ]] || pm rm -f -t 0 "$container" >/dev/null 2>&1 || true
  rm -rf "$log" "$scratch"
  if [[ $finished -eq 0 ]]; then
    echo "image.sh: stopped before the checks were done (exit $status) after $((SECONDS - started)) s"
    echo "$passed passed, $((failed + 1)) failed"
    exit 1
  fi
}
trap on_exit EXIT

ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
# check NAME COMMAND...: runs it, its output shown only on failure.
check() {
  local name=$1
  shift
  if "$@" >"$log" 2>&1; then
    ok "$name"
  else
    not_ok "$name"
    sed 's/^/    /' "$log"
  fi
}
step_started=$SECONDS
step() {
  step_started=$SECONDS
  echo "== $*"
}
took() { echo "   ($1 took $((SECONDS - step_started)) s)"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# The image's or container's JSON (podman inspect) and a node expression on it (`j`).
json_check() {
  local json=$1 expression=$2
  node -e "const j = JSON.parse(require('fs').readFileSync(0, 'utf8'))[0]; \
    const v = ($expression); if (!v) { console.error(JSON.stringify(j, null, 1).slice(0, 3000)); process.exit(1); }" \
    <<<"$json"
}

step "tools"
if [[ $(id -u) -ne 0 ]]; then
  echo "image.sh: run it as root (sudo scripts/image.sh): debootstrap and the chroot build need it" >&2
  exit 1
fi
missing=()
for package in podman runc debootstrap curl; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "image.sh: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v node >/dev/null || { echo "image.sh: Node.js is required (scripts/install-deps.sh --test)" >&2; exit 1; }
[[ -d tests/node_modules/socket.io-client ]] || (cd tests && npm ci --no-audit --no-fund --loglevel=error)
echo "   $(podman --version), runc $(runc --version | sed -n 's/^runc version //p'), debootstrap $(dpkg-query -W -f='${Version}' debootstrap)"
took tools

step "base: Debian 12 minbase rootfs (debootstrap, cached in $cache)"
rootfs_tar=$cache/bookworm-minbase.tar
if [[ -f $rootfs_tar && -z $(find "$rootfs_tar" -mtime +"$max_age_days") ]]; then
  echo "   cached: $rootfs_tar ($(du -h "$rootfs_tar" | cut -f1), $(date -u -r "$rootfs_tar" +%FT%TZ))"
else
  mkdir -p "$cache"
  rm -rf "$cache"/rootfs.*  # what an interrupted run left
  work=$(mktemp -d "$cache/rootfs.XXXXXX")
  if ! debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$log" 2>&1; then
    cat "$log"
    rm -rf "$work"
    echo "image.sh: debootstrap failed" >&2
    exit 1
  fi
  # The suites of Debian's own debian:bookworm image (updates and security too),
  # so the build stage installs what the host's CMake build compiled with.
  rm -f "$work/rootfs/etc/apt/sources.list"
  cat >"$work/rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"* \
    "$work/rootfs/var/log/"*.log "$work/rootfs/var/log/apt/"*
  tar --numeric-owner --xattrs -C "$work/rootfs" -cf "$work/rootfs.tar" .
  mv "$work/rootfs.tar" "$rootfs_tar"
  rm -rf "$work"
  echo "   built: $rootfs_tar ($(du -h "$rootfs_tar" | cut -f1))"
fi
# One base image per tarball: its tag carries the tarball's checksum.
base=localhost/roomcast-base:bookworm-$(sha256sum "$rootfs_tar" | cut -c1-12)
if pm image exists "$base"; then
  echo "   imported: $base"
else
  pm import --change 'CMD ["/bin/bash"]' "$rootfs_tar" "$base" >"$log" 2>&1 || { cat "$log"; exit 1; }
  echo "   imported now: $base"
  # The bases of older tarballs go (those still under an image stay).
  for old in $(pm images --format '{{.Repository}}:{{.Tag}}' localhost/roomcast-base); do
    [[ $old == "$base" ]] || pm rmi "$old" >/dev/null 2>&1 || true
  done
fi
took base

if [[ $build -eq 1 ]]; then
  step "build: podman build (Dockerfile, BASE=$base)"
  ccache_dir=${CCACHE_DIR:-$(ccache -k cache_dir 2>/dev/null || true)}
  ccache_dir=${ccache_dir:-${XDG_CACHE_HOME:-$HOME/.cache}/ccache}
  mkdir -p "$ccache_dir"
  echo "   ccache: $ccache_dir -> /ccache; sources at $repo; CI=${CI:-}"
  # The locale the host's compilations ran with (ccache hashes it); podman
  # warns about each of LC_ALL, LC_CTYPE, LC_MESSAGES left unset (filtered out).
  locale_args=()
  for name in LANG LC_ALL LC_CTYPE LC_MESSAGES; do
    [[ -z ${!name:-} ]] || locale_args+=(--build-arg "$name=${!name}")
  done
  set +e
  pm build --format docker --isolation=chroot --pull=never --network=host \
    --build-arg BASE="$base" --build-arg SRC_DIR="$repo" --build-arg CI="${CI:-}" \
    --build-arg VERSION="${version:-dev}" "${locale_args[@]}" \
    -v "$ccache_dir:/ccache" -t "$tag" -f Dockerfile . 2>&1 | tee "$log" |
    grep -v -e '^\[[0-9]*/[0-9]*\] ' -e 'missing \\"LC_[A-Z]*\\" build argument'
  build_status=${PIPESTATUS[0]}
  set -e
  if [[ $build_status -eq 0 ]]; then
    ok "podman build $tag ($(grep -c '^\[[0-9]*/[0-9]*\] ' "$log" || true) build steps of ninja)"
  else
    not_ok "podman build $tag (exit $build_status)"
    tail -40 "$log" | sed 's/^/    /'
    finished=1
    echo "$passed passed, $failed failed"
    exit 1
  fi
  took build
fi

step "image: $tag"
if ! image_json=$(pm image inspect "$tag" 2>"$log"); then
  not_ok "image $tag exists"
  cat "$log"
  finished=1
  echo "$passed passed, $failed failed"
  exit 1
fi
echo "   $(pm image ls --format '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}' "$tag" | head -1)"
check "HEALTHCHECK on /healthz (docker format)" \
  json_check "$image_json" "(j.Healthcheck || j.HealthCheck || j.Config.Healthcheck || {}).Test?.join(' ').includes('/healthz')"
check "STOPSIGNAL SIGTERM" json_check "$image_json" "j.Config.StopSignal === 'SIGTERM'"
check "EXPOSE 3001 and 50051" \
  json_check "$image_json" "['3001/tcp', '50051/tcp'].every((p) => p in (j.Config.ExposedPorts || {}))"
check "USER is non-root (10001:10001, numeric for runAsNonRoot)" json_check "$image_json" "j.Config.User === '10001:10001'"
check "ENTRYPOINT /usr/local/bin/roomcastd (helm/roomcast's command)" \
  json_check "$image_json" "JSON.stringify(j.Config.Entrypoint) === JSON.stringify(['/usr/local/bin/roomcastd'])"
check "runtime stage: no compiler, cmake or -dev headers" \
  pm run --rm --network=none "${limits[@]}" --entrypoint /bin/bash "$tag" -c \
    '! command -v g++ && ! command -v cc && ! command -v cmake && ! test -d /usr/include/boost && ! test -d /usr/include/grpcpp'
check "runtime stage: every shared library of roomcastd resolves" \
  pm run --rm --network=none "${limits[@]}" --entrypoint /bin/bash "$tag" -c '! ldd /usr/local/bin/roomcastd | grep "not found"'
took image

step "run: $tag (host network on 127.0.0.1, runc, cgroupfs, nofile=$nofile, nproc=$nproc, read-only, no capabilities)"
free_port() {
  node -e "const s = require('net').createServer(); s.listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); });"
}
[[ -n $http_port ]] || http_port=$(free_port)
[[ -n $grpc_port ]] || grpc_port=$(free_port)
[[ $grpc_port != "$http_port" ]] || grpc_port=$(free_port)
url=http://127.0.0.1:$http_port
run_started_ms=$(now_ms)
container_started=1  # a failed run can leave it created: removed on exit either way
if ! pm run -d --name "$container" --network=host "${limits[@]}" \
  --read-only --cap-drop=ALL --security-opt=no-new-privileges \
  -e ROOMCAST_HOST=127.0.0.1 -e PORT="$http_port" -e GRPC_PORT="$grpc_port" \
  -e INTERNAL_API_KEY="$api_key" -e ROOMCAST_DRAIN_GRACE_MS="$grace_ms" \
  -e ROOMCAST_DRAIN_DEADLINE_MS="$deadline_ms" -e ROOMCAST_MAX_CONNECTIONS=1000 \
  "$tag" >"$log" 2>&1; then
  not_ok "podman run $tag"
  sed 's/^/    /' "$log"
  finished=1
  echo "$passed passed, $failed failed"
  exit 1
fi
echo "   container $container: HTTP $http_port, gRPC $grpc_port"
ready=0
for _ in $(seq 100); do
  if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url/readyz") == 200 ]]; then
    ready=1
    break
  fi
  [[ $(pm inspect --format '{{.State.Running}}' "$container") == true ]] || break
  sleep 0.1
done
if [[ $ready -eq 1 ]]; then
  ok "/readyz 200, $(($(now_ms) - run_started_ms)) ms after podman run"
else
  not_ok "/readyz 200 within 10 s of podman run"
  pm logs "$container" 2>&1 | tail -20 | sed 's/^/    /'
fi
check "/healthz 200" curl -sSf --max-time 2 "$url/healthz"
check "the image's HEALTHCHECK passes (podman healthcheck run)" pm healthcheck run "$container"
main_pid=$(pm inspect --format '{{.State.Pid}}' "$container")
uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$main_pid/status" 2>/dev/null || true)
if [[ -n $uids && $uids == "10001 10001 10001 10001" ]]; then
  ok "roomcastd runs as uid 10001 (real, effective, saved, fs), not root"
else
  not_ok "roomcastd runs as uid 10001 (got Uid: ${uids:-none} for pid $main_pid)"
fi
check "nofile limit inside is $nofile" bash -c \
  "grep -E '^Max open files +$nofile +$nofile ' /proc/$main_pid/limits"
check "an emit (curl POST /api/socket/emit, with the API key) reaches a socket.io-client" \
  bash -c "cd tests && node image/client.mjs emit '$url' '$api_key'"
check "an emit without the API key is refused (401)" bash -c \
  "[[ \$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -X POST '$url/api/socket/emit' \
     -H 'content-type: application/json' -d '{\"room\":\"r\",\"event\":\"e\",\"data\":1}') == 401 ]]"
took run

step "drain: podman stop -t $stop_timeout_s (drain deadline $deadline_ms ms, grace $grace_ms ms), a client connected"
: >"$scratch/hold.log"
(cd tests && exec node image/client.mjs hold "$url") >"$scratch/hold.log" 2>&1 &
hold_pid=$!
pids+=("$hold_pid")
for _ in $(seq 50); do
  grep -q '^connected' "$scratch/hold.log" && break
  sleep 0.1
done
check "a socket.io-client is connected before the stop" grep -q '^connected' "$scratch/hold.log"
stop_started_ms=$(now_ms)
pm stop -t "$stop_timeout_s" "$container" >"$scratch/stop.log" 2>&1 &
stop_pid=$!
pids+=("$stop_pid")
readyz_503=""
for _ in $(seq 40); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url/readyz" || true)
  if [[ $code == 503 ]]; then
    readyz_503=$(($(now_ms) - stop_started_ms))
    break
  fi
  sleep 0.05
done
stop_status=0
wait "$stop_pid" || stop_status=$?
stop_ms=$(($(now_ms) - stop_started_ms))
if [[ -n $readyz_503 ]]; then
  ok "/readyz 503 while draining (${readyz_503} ms after podman stop began): SIGTERM reached roomcastd"
else
  not_ok "/readyz 503 while draining"
fi
exit_code=$(pm inspect --format '{{.State.ExitCode}}' "$container" 2>/dev/null || echo unknown)
if [[ $stop_status -eq 0 && $exit_code == 0 ]]; then
  ok "the container exited with code 0"
else
  not_ok "the container exited with code 0 (podman stop exit $stop_status, container exit code $exit_code)"
  sed 's/^/    /' "$scratch/stop.log"
fi
if ((stop_ms <= deadline_ms)); then
  ok "podman stop returned in $stop_ms ms, within the $deadline_ms ms drain deadline"
else
  not_ok "podman stop returned in $stop_ms ms, not within the $deadline_ms ms drain deadline"
fi
container_logs=$(pm logs "$container" 2>&1 || true)
if grep -q 'app: stopped' <<<"$container_logs" && ! grep -q 'drain deadline passed' <<<"$container_logs"; then
  ok "roomcastd drained and stopped by itself (log: app: stopped, not the deadline's exit)"
else
  not_ok "roomcastd drained and stopped by itself (log: app: stopped, not the deadline's exit)"
fi
hold_status=0
wait "$hold_pid" || hold_status=$?
if [[ $hold_status -eq 0 ]]; then
  ok "the connected client was disconnected by the drain ($(grep '^disconnected' "$scratch/hold.log"))"
else
  not_ok "the connected client was disconnected by the drain"
  sed 's/^/    /' "$scratch/hold.log"
fi
pids=()
tail -6 <<<"$container_logs" | sed 's/^/   | /'
took drain

finished=1
echo "image.sh: took $((SECONDS - started)) s"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
