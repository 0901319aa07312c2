#include "server/broker/msgpack.h"

#include <msgpuck.h>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include "absl/strings/str_cat.h"

namespace roomcast::broker {
namespace {

// Encodes into a scratch buffer the size msgpuck says, then appends.
template <typename Size, typename Encode>
void Append(std::string& out, Size size, Encode encode) {
  const size_t at = out.size();
  out.resize(at + size);
  char* end = encode(out.data() + at);
  out.resize(static_cast<size_t>(end - out.data()));
}

}  // namespace

void MsgpackWriter::Array(uint32_t size) {
  Append(out_, mp_sizeof_array(size), [&](char* at) { return mp_encode_array(at, size); });
}
void MsgpackWriter::Map(uint32_t size) {
  Append(out_, mp_sizeof_map(size), [&](char* at) { return mp_encode_map(at, size); });
}
void MsgpackWriter::Str(std::string_view text) {
  const auto size = static_cast<uint32_t>(text.size());
  Append(out_, mp_sizeof_str(size), [&](char* at) { return mp_encode_str(at, text.data(), size); });
}
void MsgpackWriter::Bin(std::string_view bytes) {
  const auto size = static_cast<uint32_t>(bytes.size());
  Append(out_, mp_sizeof_bin(size),
         [&](char* at) { return mp_encode_bin(at, bytes.data(), size); });
}
void MsgpackWriter::Uint(uint64_t value) {
  Append(out_, mp_sizeof_uint(value), [&](char* at) { return mp_encode_uint(at, value); });
}
void MsgpackWriter::Bool(bool value) {
  Append(out_, mp_sizeof_bool(value), [&](char* at) { return mp_encode_bool(at, value); });
}
void MsgpackWriter::Nil() {
  Append(out_, mp_sizeof_nil(), [&](char* at) { return mp_encode_nil(at); });
}
void MsgpackWriter::StrArray(const std::vector<std::string>& items) {
  Array(static_cast<uint32_t>(items.size()));
  for (const std::string& item : items) {
    Str(item);
  }
}

void MsgpackWriter::Json(const boost::json::value& value,
                         const std::vector<std::string>& attachments) {
  switch (value.kind()) {
    case boost::json::kind::null:
      Nil();
      return;
    case boost::json::kind::bool_:
      Bool(value.get_bool());
      return;
    case boost::json::kind::int64:
      Append(out_, mp_sizeof_int(value.get_int64()), [&](char* at) {
        return value.get_int64() < 0 ? mp_encode_int(at, value.get_int64())
                                     : mp_encode_uint(at, value.get_int64());
      });
      return;
    case boost::json::kind::uint64:
      Uint(value.get_uint64());
      return;
    case boost::json::kind::double_:
      Append(out_, mp_sizeof_double(value.get_double()),
             [&](char* at) { return mp_encode_double(at, value.get_double()); });
      return;
    case boost::json::kind::string:
      Str(value.get_string());
      return;
    case boost::json::kind::array:
      Array(static_cast<uint32_t>(value.get_array().size()));
      for (const boost::json::value& item : value.get_array()) {
        Json(item, attachments);
      }
      return;
    case boost::json::kind::object: {
      const boost::json::object& object = value.get_object();
      const boost::json::value* placeholder = object.if_contains("_placeholder");
      const boost::json::value* num = object.if_contains("num");
      if (object.size() == 2 && placeholder != nullptr && placeholder->is_bool() &&
          placeholder->get_bool() && num != nullptr && num->is_int64() && num->get_int64() >= 0 &&
          static_cast<size_t>(num->get_int64()) < attachments.size()) {
        Bin(attachments[static_cast<size_t>(num->get_int64())]);
        return;
      }
      Map(static_cast<uint32_t>(object.size()));
      for (const auto& [key, item] : object) {
        Str(key);
        Json(item, attachments);
      }
      return;
    }
  }
}

absl::StatusOr<MsgpackReader> MsgpackReader::Open(std::string_view data) {
  const char* cursor = data.data();
  const char* end = data.data() + data.size();
  if (data.empty() || mp_check(&cursor, end) != 0) {
    return absl::InvalidArgumentError("not one well-formed MessagePack value");
  }
  return MsgpackReader(data.data(), cursor, end);
}

bool MsgpackReader::Next(int type) const {
  return cursor_ < checked_end_ && mp_typeof(*cursor_) == static_cast<mp_type>(type);
}

// Every item takes at least a byte: a count larger than the bytes left is a
// lie (msgpuck's mp_check lets a 32-bit count through), and must not size an
// allocation.
template <typename Decode>
bool MsgpackReader::ReadCount(int type, size_t bytes_per_item, Decode decode, uint32_t& size) {
  if (!Next(type)) {
    return false;
  }
  const char* start = cursor_;
  size = decode(&cursor_);
  if (bytes_per_item * size > static_cast<size_t>(checked_end_ - cursor_)) {
    cursor_ = start;
    return false;
  }
  return true;
}

bool MsgpackReader::ReadArray(uint32_t& size) {
  return ReadCount(
      MP_ARRAY, 1, [](const char** at) { return mp_decode_array(at); }, size);
}

bool MsgpackReader::ReadMap(uint32_t& size) {
  return ReadCount(
      MP_MAP, 2, [](const char** at) { return mp_decode_map(at); }, size);
}

bool MsgpackReader::ReadStr(std::string& out) {
  if (!Next(MP_STR)) {
    return false;
  }
  uint32_t length = 0;
  const char* text = mp_decode_str(&cursor_, &length);
  out.assign(text, length);
  return true;
}

bool MsgpackReader::ReadBin(std::string& out) {
  if (!Next(MP_BIN)) {
    return false;
  }
  uint32_t length = 0;
  const char* bytes = mp_decode_bin(&cursor_, &length);
  out.assign(bytes, length);
  return true;
}

bool MsgpackReader::ReadUint(uint64_t& out) {
  if (!Next(MP_UINT)) {
    return false;
  }
  out = mp_decode_uint(&cursor_);
  return true;
}

bool MsgpackReader::ReadBool(bool& out) {
  if (!Next(MP_BOOL)) {
    return false;
  }
  out = mp_decode_bool(&cursor_);
  return true;
}

bool MsgpackReader::ReadStrArray(std::vector<std::string>& out) {
  uint32_t size = 0;
  if (!ReadArray(size)) {
    return false;
  }
  out.resize(size);
  for (std::string& item : out) {
    if (!ReadStr(item)) {
      return false;
    }
  }
  return true;
}

bool MsgpackReader::ReadFields(absl::FunctionRef<bool(const std::string& key)> value) {
  uint32_t fields = 0;
  if (!ReadMap(fields)) {
    return false;
  }
  std::string key;
  for (uint32_t i = 0; i < fields; ++i) {
    if (!ReadStr(key) || !value(key)) {
      return false;
    }
  }
  return true;
}

void MsgpackReader::Skip() {
  if (cursor_ < checked_end_) {
    mp_next(&cursor_);
  }
}

bool MsgpackReader::ReadJson(std::string& json, std::vector<std::string>& attachments) {
  if (cursor_ >= checked_end_) {
    return false;
  }
  switch (mp_typeof(*cursor_)) {
    case MP_NIL:
      mp_decode_nil(&cursor_);
      json += "null";
      return true;
    case MP_UINT:
      absl::StrAppend(&json, mp_decode_uint(&cursor_));
      return true;
    case MP_INT:
      absl::StrAppend(&json, mp_decode_int(&cursor_));
      return true;
    case MP_BOOL:
      json += mp_decode_bool(&cursor_) ? "true" : "false";
      return true;
    case MP_FLOAT:
      json += boost::json::serialize(boost::json::value(mp_decode_float(&cursor_)));
      return true;
    case MP_DOUBLE:
      json += boost::json::serialize(boost::json::value(mp_decode_double(&cursor_)));
      return true;
    case MP_STR: {
      uint32_t length = 0;
      const char* text = mp_decode_str(&cursor_, &length);
      json += boost::json::serialize(boost::json::string(std::string_view(text, length)));
      return true;
    }
    case MP_BIN: {
      uint32_t length = 0;
      const char* bytes = mp_decode_bin(&cursor_, &length);
      absl::StrAppend(&json, R"({"_placeholder":true,"num":)", attachments.size(), "}");
      attachments.emplace_back(bytes, length);
      return true;
    }
    case MP_ARRAY: {
      uint32_t size = 0;
      if (!ReadArray(size)) {
        return false;
      }
      json += '[';
      for (uint32_t i = 0; i < size; ++i) {
        if (i > 0) {
          json += ',';
        }
        if (!ReadJson(json, attachments)) {
          return false;
        }
      }
      json += ']';
      return true;
    }
    case MP_MAP: {
      json += '{';
      bool first = true;
      const bool read = ReadFields([&](const std::string& key) {
        json += first ? "" : ",";
        first = false;
        json += boost::json::serialize(boost::json::string(key));
        json += ':';
        return ReadJson(json, attachments);
      });
      json += '}';
      return read;
    }
    case MP_EXT:
      // notepack encodes `undefined` and Dates as extensions: JSON has neither.
      mp_next(&cursor_);
      json += "null";
      return true;
  }
  return false;
}

}  // namespace roomcast::broker
