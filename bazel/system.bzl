"""The system libraries and tools Roomcast builds against: the same ones
server/CMakeLists.txt (and clients/, tests/, bench/) find, each a target of
@system named after its CMake imported target (absl::strings ->
@system//:absl_strings, OpenSSL::SSL -> @system//:ssl, ...). The Debian
packages are in scripts/install-deps.sh."""

load("//bazel:pkg_config.bzl", "cmake_project_version", "pkg_config_repository", "system_tools_repository")

# absl::<name> -> pkg-config absl_<name>
_ABSL = [
    "any_invocable",
    "base",
    "btree",
    "flags",
    "flags_marshalling",
    "flags_parse",
    "flat_hash_map",
    "flat_hash_set",
    "random_random",
    "status",
    "statusor",
    "str_format",
    "strings",
    "synchronization",
    "time",
]

_MODULES = dict(
    {"absl_" + name: ["absl_" + name] for name in _ABSL},
    crypt = ["libcrypt"],
    crypto = ["libcrypto"],
    cjose = ["cjose"],
    gmock = ["gmock"],
    grpcpp = ["grpc++"],
    grpcpp_reflection = ["grpc++"],
    gtest = ["gtest"],
    gtest_main = ["gtest_main"],
    hiredis = ["hiredis"],
    pqxx = ["libpqxx"],
    prometheus_core = ["prometheus-cpp-core"],
    protobuf = ["protobuf"],
    spdlog = ["spdlog"],
    ssl = ["libssl"],
    zlib = ["zlib"],
)

# No .pc file: linker flags, and the defines CMake's Boost config sets for the
# shared libraries.
_LIBRARIES = {
    "boost_json": ["-lboost_json", "-lboost_container"],
    "boost_url": ["-lboost_url"],
    "grpcpp_reflection": ["-lgrpc++_reflection"],
    "msgpuck": ["-l:libmsgpuck.a"],
    "threads": ["-pthread"],
}

_DEFINES = {
    "boost_json": ["BOOST_JSON_DYN_LINK", "BOOST_JSON_NO_LIB", "BOOST_CONTAINER_DYN_LINK", "BOOST_CONTAINER_NO_LIB"],
    "boost_url": ["BOOST_URL_DYN_LINK", "BOOST_URL_NO_LIB"],
}

# Checked when @system is made, so a missing -dev package fails early.
_HEADERS = {
    "boost_headers": ["boost/asio.hpp", "boost/beast.hpp"],
    "boost_json": ["boost/json.hpp"],
    "boost_url": ["boost/url.hpp"],
    "grpcpp_reflection": ["grpcpp/ext/proto_server_reflection_plugin.h"],
    "msgpuck": ["msgpuck.h"],
}

def roomcast_system_repositories():
    pkg_config_repository(
        name = "system",
        modules = _MODULES,
        libraries = _LIBRARIES,
        defines = _DEFINES,
        headers = _HEADERS,
    )
    system_tools_repository(
        name = "system_tools",
        tools = {
            "grpc_cpp_plugin": "grpc_cpp_plugin",
            "protoc": "protoc",
        },
    )
    cmake_project_version(
        name = "roomcast_version",
        cmake_lists = "//:CMakeLists.txt",
        project = "roomcast",
    )
