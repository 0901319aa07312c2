# roomcastd on Debian 12 (bookworm): a build stage that runs the project's own
# scripts (scripts/install-deps.sh, scripts/build.sh, release preset), and a
# runtime stage with only the binary, the Debian packages of the shared
# libraries it links, CA certificates (rediss://, https webhooks, PostgreSQL
# TLS) and a non-root user (uid/gid 10001, as helm/roomcast runs it).
#
# scripts/image.sh builds it offline against a debootstrapped base and checks
# the result:
#   podman build --format docker --isolation=chroot --pull=never \
#     --build-arg BASE=localhost/roomcast-base:bookworm-... \
#     --build-arg SRC_DIR="$PWD" -v ~/.cache/ccache:/ccache -t roomcast/roomcastd:0.1.0 .
# With a registry, `docker build .` works as is (BASE defaults to debian:bookworm-slim).
# --format docker keeps HEALTHCHECK (the OCI image format has no such field).

# The Debian 12 base image of both stages.
ARG BASE=docker.io/library/debian:bookworm-slim

FROM ${BASE} AS build
# Where the sources are built. scripts/image.sh passes the host checkout's path:
# the compiler command lines are then the host build's, so the host's ccache,
# bind-mounted at /ccache, answers for everything the host already compiled.
ARG SRC_DIR=/src
# CI=true makes scripts/build.sh treat warnings as errors, as in the host's CI build.
ARG CI=
# ccache hashes the locale (it changes the compiler's messages): scripts/image.sh
# passes the host's, those that are set; the others stay unset here too.
ARG LANG
ARG LC_ALL
ARG LC_CTYPE
ARG LC_MESSAGES
ENV DEBIAN_FRONTEND=noninteractive \
    CCACHE_DIR=/ccache
# The packages first, in their own layer: a source change does not reinstall them.
# No step's effect depends on SRC_DIR alone (podman reuses a WORKDIR ${SRC_DIR} or
# a COPY to it from a build at another path): the sources go to /src, and the
# build step copies them to SRC_DIR itself.
COPY scripts/install-deps.sh /src/scripts/install-deps.sh
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends ccache >/dev/null \
 && /src/scripts/install-deps.sh \
 && rm -rf /var/lib/apt/lists/*
COPY . /src
# roomcastd only (release preset, build/): no tests, so no GoogleTest to install.
# Without a mounted /ccache, ccache fills an empty directory of the stage. The
# stats log counts this build's compilations alone (the cache is shared); the
# stripped binary goes to /out and the build tree is not kept in the layer.
RUN mkdir -p /ccache /out "${SRC_DIR}" \
 && { [ "${SRC_DIR}" = /src ] || cp -a /src/. "${SRC_DIR}"; } \
 && cd "${SRC_DIR}" \
 && export CCACHE_STATSLOG=/tmp/ccache-stats.log \
 && cmake --preset release -DBUILD_TESTING=OFF >/dev/null \
 && scripts/build.sh release roomcastd \
 && echo "ccache, this build:" \
 && ccache --show-log-stats | grep -E 'Cacheable|Hits|Misses' \
 && install -m 0755 -s build/server/roomcastd /out/roomcastd \
 && mkdir -p /out/admin-ui \
 && { [ ! -d build/server/admin-ui ] || cp -a build/server/admin-ui/. /out/admin-ui/; } \
 && rm -f /out/admin-ui/js/*.map \
 && rm -rf build /tmp/ccache-stats.log \
 && { [ "${SRC_DIR}" = /src ] || rm -rf "${SRC_DIR}"; }
# The Debian packages owning every shared library roomcastd loads (dpkg -S on
# what ldd lists, trying the /lib <-> /usr/lib spelling of bookworm's
# half-merged /usr): a library no package owns fails the build.
RUN owner() { dpkg -S "$1" 2>/dev/null || dpkg -S "${1#/usr}" 2>/dev/null || dpkg -S "/usr$1" 2>/dev/null; } \
 && ldd /out/roomcastd | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' > /tmp/libs \
 && test -s /tmp/libs \
 && : > /tmp/packages \
 && for lib in $(cat /tmp/libs); do \
      found=$(owner "$lib" || owner "$(readlink -f "$lib")") \
        || { echo "no Debian package owns $lib" >&2; exit 1; }; \
      echo "$found" | head -n 1 | cut -d: -f1 >> /tmp/packages; \
    done \
 && sort -u /tmp/packages > /out/runtime-packages \
 && echo "runtime packages: $(tr '\n' ' ' < /out/runtime-packages)"

FROM ${BASE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="roomcastd" \
      org.opencontainers.image.description="Roomcast: a Socket.IO real-time gateway with a gRPC/HTTP control plane" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="debian:bookworm"
COPY --from=build /out/runtime-packages /usr/local/share/roomcast/runtime-packages
RUN apt-get update -qq \
 && xargs -a /usr/local/share/roomcast/runtime-packages \
      env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
 && groupadd --system --gid 10001 roomcast \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin roomcast
COPY --from=build /out/roomcastd /usr/local/bin/roomcastd
# The Socket.IO Admin UI's files (served at /admin/ when the admin settings are set).
COPY --from=build /out/admin-ui /usr/local/share/roomcast/admin-ui
# Every library resolves (the package list above is complete).
RUN ! ldd /usr/local/bin/roomcastd | grep 'not found'
USER 10001:10001
# Every IPv4 address of the container: roomcastd's own default `::` fails where
# a container has IPv6 disabled (Docker's default networks). Ports: the README's.
ENV ROOMCAST_HOST=0.0.0.0 \
    PORT=3001 \
    GRPC_PORT=50051
# HTTP (Socket.IO, the HTTP API, /healthz, /readyz, /metrics) and gRPC.
EXPOSE 3001 50051
# SIGTERM starts the drain: /readyz 503, the listener closes after
# ROOMCAST_DRAIN_GRACE_MS, exit 0 by ROOMCAST_DRAIN_DEADLINE_MS (default 10 s):
# give `docker stop -t` / terminationGracePeriodSeconds more than that.
STOPSIGNAL SIGTERM
# /healthz over bash's /dev/tcp (no curl in the image), on loopback and $PORT.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PORT:-3001} && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && read -r -t 2 _ status _ <&3 && [ \"$status\" = 200 ]"]
ENTRYPOINT ["/usr/local/bin/roomcastd"]
