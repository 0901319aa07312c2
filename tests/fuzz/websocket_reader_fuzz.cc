// The WebSocket frame reader on any bytes: read whole, or cut in two where
// the first byte says, it must see the same messages and the same verdict.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "server/codec/websocket_message_reader.h"

namespace {

using roomcast::websocket::Incoming;
using roomcast::websocket::MessageReader;

struct Outcome {
  std::vector<std::string> seen;
  bool failed = false;
  bool operator==(const Outcome&) const = default;
};

// Reads `bytes` handed over in two parts, as a socket might deliver them.
Outcome ReadInTwo(std::string bytes, size_t cut) {
  MessageReader reader(4096);
  Outcome outcome;
  auto sink = [&](const Incoming& in) {
    outcome.seen.push_back(std::to_string(static_cast<int>(in.kind)) + (in.binary ? "b" : "t") +
                           std::string(in.data));
  };
  std::string pending = bytes.substr(0, cut);
  auto result = reader.Read(pending.data(), pending.size(), sink);
  if (result.consumed > pending.size()) __builtin_trap();
  if (result.failed()) {
    outcome.failed = true;
    return outcome;
  }
  pending.erase(0, result.consumed);
  pending.append(bytes.substr(cut));
  result = reader.Read(pending.data(), pending.size(), sink);
  if (result.consumed > pending.size()) __builtin_trap();
  outcome.failed = result.failed();
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t cut = bytes.empty() ? 0 : data[0] % (bytes.size() + 1);
  if (ReadInTwo(bytes, bytes.size()) != ReadInTwo(bytes, cut)) __builtin_trap();
  (void)roomcast::websocket::IsValidUtf8(bytes);
  return 0;
}
