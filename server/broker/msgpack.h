#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"

namespace roomcast::broker {

// MessagePack through msgpuck (Tarantool's, a Debian package): a writer, and
// a reader over one checked value. Socket.IO's Redis adapter and emitter
// encode with notepack.io, which this reads.
class MsgpackWriter {
 public:
  void Array(uint32_t size);
  void Map(uint32_t size);
  void Str(std::string_view text);
  void Bin(std::string_view bytes);
  void Uint(uint64_t value);
  void Bool(bool value);
  void Nil();
  void StrArray(const std::vector<std::string>& items);
  // A JSON value; Socket.IO placeholders ({"_placeholder":true,"num":N})
  // become bin values of `attachments[N]`.
  void Json(const boost::json::value& value, const std::vector<std::string>& attachments);
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

class MsgpackReader {
 public:
  // Checks that `data` starts with one well-formed value (nested ones included).
  static absl::StatusOr<MsgpackReader> Open(std::string_view data);

  // The bytes after the value Open() checked (a second value may follow).
  std::string_view Rest() const { return {checked_end_, static_cast<size_t>(end_ - checked_end_)}; }

  // Each returns false (and reads nothing) when the next item is not of its type.
  bool ReadArray(uint32_t& size);
  bool ReadMap(uint32_t& size);
  bool ReadStr(std::string& out);
  bool ReadBin(std::string& out);
  bool ReadUint(uint64_t& out);
  bool ReadBool(bool& out);
  bool ReadStrArray(std::vector<std::string>& out);
  // A map with string keys (as notepack writes objects): `value` reads the
  // value of each key (Skip() what it does not want), false to stop.
  bool ReadFields(absl::FunctionRef<bool(const std::string& key)> value);
  // Skips one value of any type.
  void Skip();
  // One value as JSON text; binary values become Socket.IO placeholders
  // ({"_placeholder":true,"num":N}) and their bytes are added to `attachments`.
  bool ReadJson(std::string& json, std::vector<std::string>& attachments);

 private:
  MsgpackReader(const char* data, const char* checked_end, const char* end)
      : cursor_(data), checked_end_(checked_end), end_(end) {}
  // Whether an item of msgpuck type `type` is next.
  bool Next(int type) const;
  // An array or map header whose count fits the bytes left.
  template <typename Decode>
  bool ReadCount(int type, size_t bytes_per_item, Decode decode, uint32_t& size);

  const char* cursor_;       // The next item to read.
  const char* checked_end_;  // End of the checked value.
  const char* end_;
};

}  // namespace roomcast::broker
