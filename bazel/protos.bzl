"""C++ and gRPC code for .proto files, made by the system's protoc and
grpc_cpp_plugin (@system_tools) in a genrule: no proto_library, so nothing of
Bazel's protobuf rules (and no protobuf source tree) is fetched. The
generated files are the ones protos/CMakeLists.txt's protobuf_generate makes.
"""

def cc_grpc_protos(name, srcs, deps = [], visibility = None):
    """A cc_library `name` of the messages and gRPC stubs of `srcs` (paths
    relative to this package, which is also protoc's import root).

    alwayslink: a .pb.cc holding only a service descriptor is referenced by
    no symbol, but the gateway and gRPC reflection look the service up by
    name (CMake links the protos as a whole archive for the same reason).
    """
    outs = []
    for src in srcs:
        if not src.endswith(".proto"):
            fail("%s: %s is not a .proto" % (name, src))
        base = src[:-len(".proto")]
        outs += [base + ".pb.h", base + ".pb.cc", base + ".grpc.pb.h", base + ".grpc.pb.cc"]
    root = native.package_name() or "."
    native.genrule(
        name = name + "_generate",
        srcs = srcs,
        outs = outs,
        tools = ["@system_tools//:protoc", "@system_tools//:grpc_cpp_plugin"],
        cmd = " ".join([
            "$(execpath @system_tools//:protoc)",
            "--proto_path=" + root,
            "--cpp_out=$(RULEDIR)",
            "--grpc_out=$(RULEDIR)",
            "--plugin=protoc-gen-grpc=$(execpath @system_tools//:grpc_cpp_plugin)",
            "$(SRCS)",
        ]),
        message = "protoc + grpc_cpp_plugin " + name,
    )
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        includes = ["."],
        copts = ["-std=c++20", "-w"],
        alwayslink = True,
        deps = deps + ["@system//:protobuf", "@system//:grpcpp"],
        visibility = visibility,
    )
