// What control callers hand roomcastd beside the request: an API keys file
// and a W3C traceparent header, on any bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/auth/api_key.h"
#include "server/base/trace_context.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto keys = roomcast::auth::ParseKeysFile(input);
  if (keys.ok()) {
    roomcast::auth::ApiKeys set(*keys);
    if (!set.Identify(std::nullopt, (*keys)[0].key)) {
      std::abort();  // A key the file names must be accepted.
    }
  }
  (void)roomcast::auth::KeysFromList(input);
  if (auto trace = roomcast::base::ParseTraceParent(input)) {
    if (!roomcast::base::ParseTraceParent(trace->Child())) {
      std::abort();  // What Roomcast passes on must parse again.
    }
  }
  return 0;
}
