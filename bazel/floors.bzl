"""The floors of server/ (docs/ARCHITECTURE.md) as Bazel packages.

Each floor is a package server/<floor> with one cc_library, //server/<floor>,
that may depend only on floors below it, and that only the floors above it
(and tests/, and the few users outside server/ CMake links it to) may see.
roomcast_floor() fails at load time on a dependency that goes up or sideways,
or on a pure floor that depends on a networking, RPC, database or Redis
library; Bazel's visibility then rejects the same from any other BUILD file.
Sideways includes fail too: a floor's compile sees only the headers of its
own dependencies. This is the layering server/CMakeLists.txt links and
scripts/check-layers.mjs checks on includes.
"""

# Bottom to top; floors on one row sit side by side and may not use each other.
FLOORS = [
    ["base"],
    ["codec"],
    ["core"],
    ["auth", "broker", "storage", "engineio", "socketio"],
    ["rooms"],
    ["net", "observe"],
    ["control"],
    ["app"],
]

PURE = ["base", "codec", "core", "auth", "engineio", "socketio", "rooms"]

# What a pure floor may not link (scripts/check-layers.mjs: no Beast/Asio,
# gRPC, libpqxx, Redis or prometheus includes).
IMPURE = [
    "@system//:grpcpp",
    "@system//:grpcpp_reflection",
    "@system//:hiredis",
    "@system//:pqxx",
    "@system//:prometheus_core",
    "//protos:roomcast_protos",
]

# Users outside server/ of single floors, as in CMake: the CLI links
# roomcast_codec, the conformance protocol server roomcast_net and
# roomcast_observe. Every floor is visible to tests/.
_OUTSIDE = {
    "codec": ["//clients/cli:__pkg__"],
    "net": ["//tests/conformance:__pkg__"],
    "observe": ["//tests/conformance:__pkg__"],
}

_LEVEL = {floor: level for level, row in enumerate(FLOORS) for floor in row}

# Compiler flags of every Roomcast C++ target (the top-level CMakeLists.txt's).
COPTS = [
    "-std=c++20",
    "-Wall",
    "-Wextra",
    "-Wno-unused-parameter",
    "-Wno-restrict",
    "-DBOOST_ASIO_NO_DEPRECATED",
]

C_COPTS = [
    "-Wall",
    "-Wextra",
    "-Wno-unused-parameter",
]

def floor_of(label):
    """The floor a //server/<floor> label names, or None."""
    if not label.startswith("//server/"):
        return None
    return label[len("//server/"):].split(":")[0]

def floor_visibility(floor):
    above = [f for f in _LEVEL if _LEVEL[f] > _LEVEL[floor]]
    return ["//server/%s:__pkg__" % f for f in above] + ["//tests:__subpackages__"] + _OUTSIDE.get(floor, [])

def roomcast_floor(name, srcs = [], deps = [], local_defines = []):
    """The library of floor `name`, in package server/<name>: its .cc files and
    every header of the folder."""
    if native.package_name() != "server/" + name:
        fail("roomcast_floor(%s) belongs in server/%s/BUILD.bazel, not %s" % (name, name, native.package_name()))
    if name not in _LEVEL:
        fail("server/%s/ is not a floor of docs/ARCHITECTURE.md (bazel/floors.bzl)" % name)
    for dep in deps:
        target = floor_of(dep)
        if target != None:
            if target not in _LEVEL:
                fail("%s: %s is not a floor" % (name, dep))
            if _LEVEL[target] >= _LEVEL[name]:
                how = "beside" if _LEVEL[target] == _LEVEL[name] else "above"
                fail("%s may not depend on %s, a floor %s it" % (name, target, how))
        if name in PURE and dep in IMPURE:
            fail("%s is a pure floor and may not depend on %s" % (name, dep))
    native.cc_library(
        name = name,
        srcs = srcs,
        hdrs = native.glob(["*.h"]),
        copts = COPTS,
        local_defines = local_defines,
        deps = deps,
        visibility = floor_visibility(name),
    )
