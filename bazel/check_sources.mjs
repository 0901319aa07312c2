#!/usr/bin/env node
// Checks that CMake and Bazel compile the same C and C++ files: every file in
// a CMake compile_commands.json is in the srcs of a Bazel cc_* target, and the
// other way round. Generated files (the protoc output) compare by their path
// under the build directory (CMake) or the package output (Bazel), so
// protos/roomcast/v1/emit.pb.cc is one name on both sides. Exits 1 and names
// every file only one side builds.
//   node bazel/check_sources.mjs ROOT COMPILE_COMMANDS_JSON BAZEL_QUERY_OUTPUT
// BAZEL_QUERY_OUTPUT: `bazel query --output=label_kind
//   'labels(srcs, kind("cc_(library|binary|test)", //...))'`
import fs from 'node:fs';
import path from 'node:path';

const [rootArg, compileCommands, bazelQuery] = process.argv.slice(2);
if (!rootArg || !compileCommands || !bazelQuery) {
  console.error('usage: check_sources.mjs ROOT COMPILE_COMMANDS_JSON BAZEL_QUERY_OUTPUT');
  process.exit(2);
}
const root = fs.realpathSync(rootArg);
const kCompiled = /\.(c|cc|cpp|cxx)$/;

function cmakeFiles() {
  const files = new Set();
  for (const entry of JSON.parse(fs.readFileSync(compileCommands, 'utf8'))) {
    const file = path.resolve(entry.directory, entry.file);
    const buildDir = path.dirname(compileCommands);
    let name;
    if (file.startsWith(`${root}/`) && !file.startsWith(`${fs.realpathSync(buildDir)}/`)) {
      name = path.relative(root, file);
    } else {
      // Generated in the build tree: its path under it.
      name = path.relative(fs.realpathSync(buildDir), file);
      if (name.startsWith('..')) throw new Error(`${file}: neither in ${root} nor in ${buildDir}`);
    }
    if (kCompiled.test(name)) files.add(name);
  }
  return files;
}

function bazelFiles() {
  const files = new Set();
  for (const line of fs.readFileSync(bazelQuery, 'utf8').split('\n')) {
    // "source file //server/base:ids.cc", "generated file //protos:roomcast/v1/emit.pb.cc"
    const match = /^(source|generated) file (@[^/]*)?\/\/([^:]*):(.+)$/.exec(line.trim());
    if (!match || match[2]) continue;
    const name = match[3] ? `${match[3]}/${match[4]}` : match[4];
    if (kCompiled.test(name)) files.add(name);
  }
  return files;
}

const cmake = cmakeFiles();
const bazel = bazelFiles();
const onlyCmake = [...cmake].filter((f) => !bazel.has(f)).sort();
const onlyBazel = [...bazel].filter((f) => !cmake.has(f)).sort();
if (cmake.size === 0 || bazel.size === 0) {
  console.error(`check_sources: no files (CMake ${cmake.size}, Bazel ${bazel.size})`);
  process.exit(1);
}
if (onlyCmake.length || onlyBazel.length) {
  console.error('check_sources: CMake and Bazel build different files');
  for (const f of onlyCmake) console.error(`  only in the CMake build: ${f}`);
  for (const f of onlyBazel) console.error(`  only in the Bazel build: ${f}`);
  process.exit(1);
}
console.log(`check_sources: CMake and Bazel both compile the same ${cmake.size} files`);
