#include "server/codec/socketio_packet.h"
#include "server/base/string_view.h"

#include "server/codec/engineio_packet.h"

#include <array>

#include <boost/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace roomcast::socketio {
namespace {

constexpr std::array<std::string_view, 6> kReservedEvents = {
    "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"};

bool IsBinaryType(PacketType type) {
  return type == PacketType::kBinaryEvent || type == PacketType::kBinaryAck;
}

absl::Status ValidatePayload(const Packet& packet) {
  const std::optional<boost::json::value>& data = packet.data;
  switch (packet.type) {
    case PacketType::kConnect:
      if (data && !data->is_object()) {
        return absl::InvalidArgumentError("CONNECT payload must be an object");
      }
      return absl::OkStatus();
    case PacketType::kDisconnect:
      if (data) {
        return absl::InvalidArgumentError("DISCONNECT carries no payload");
      }
      return absl::OkStatus();
    case PacketType::kConnectError:
      if (data && !data->is_object() && !data->is_string()) {
        return absl::InvalidArgumentError("CONNECT_ERROR payload must be an object");
      }
      return absl::OkStatus();
    case PacketType::kEvent:
    case PacketType::kBinaryEvent: {
      if (!data || !data->is_array() || data->as_array().empty()) {
        return absl::InvalidArgumentError("EVENT payload must be a non-empty array");
      }
      const boost::json::value& name = data->as_array().front();
      if (name.is_number()) {
        return absl::OkStatus();
      }
      if (!name.is_string()) {
        return absl::InvalidArgumentError("event name must be a string or a number");
      }
      if (IsReservedEvent(name.as_string())) {
        return absl::InvalidArgumentError(
            absl::StrCat("reserved event name '", ToAbsl(name.as_string()), "'"));
      }
      return absl::OkStatus();
    }
    case PacketType::kAck:
    case PacketType::kBinaryAck:
      if (!data || !data->is_array()) {
        return absl::InvalidArgumentError("ACK payload must be an array");
      }
      return absl::OkStatus();
  }
  return absl::InvalidArgumentError("unknown packet type");
}

// Every placeholder must point at an attachment that exists.
absl::Status ValidatePlaceholders(const boost::json::value& value, size_t attachments) {
  if (const boost::json::object* object = value.if_object()) {
    if (const boost::json::value* flag = object->if_contains("_placeholder");
        flag && flag->is_bool() && flag->get_bool()) {
      const boost::json::value* num = object->if_contains("num");
      if (!num || !num->is_int64() || num->get_int64() < 0 ||
          static_cast<size_t>(num->get_int64()) >= attachments) {
        return absl::InvalidArgumentError("illegal attachment placeholder");
      }
      return absl::OkStatus();
    }
    for (const auto& [key, child] : *object) {
      if (absl::Status status = ValidatePlaceholders(child, attachments); !status.ok()) {
        return status;
      }
    }
  } else if (const boost::json::array* array = value.if_array()) {
    for (const boost::json::value& child : *array) {
      if (absl::Status status = ValidatePlaceholders(child, attachments); !status.ok()) {
        return status;
      }
    }
  }
  return absl::OkStatus();
}

// Reads a run of decimal digits at `pos`.
std::string_view TakeDigits(std::string_view text, size_t& pos) {
  const size_t start = pos;
  while (pos < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[pos]))) {
    ++pos;
  }
  return text.substr(start, pos - start);
}

}  // namespace

bool IsReservedEvent(std::string_view name) {
  for (std::string_view reserved : kReservedEvents) {
    if (name == reserved) {
      return true;
    }
  }
  return false;
}

namespace {

// Appends `<type>[<n>-][<nsp>,][<id>]`: everything before the JSON.
void AppendHeader(std::string& out, PacketType type, size_t attachments, std::string_view nsp,
                  std::optional<uint64_t> id) {
  absl::StrAppend(&out, static_cast<int>(type));
  if (IsBinaryType(type)) {
    absl::StrAppend(&out, attachments, "-");
  }
  if (nsp != "/") {
    absl::StrAppend(&out, ToAbsl(nsp), ",");
  }
  if (id) {
    absl::StrAppend(&out, *id);
  }
}

void AppendText(std::string& out, const Packet& packet) {
  AppendHeader(out, packet.type, packet.attachments.size(), packet.nsp, packet.id);
  if (packet.data) {
    out += boost::json::serialize(*packet.data);
  }
}

void AppendEventArray(std::string& out, std::string_view event, std::string_view args_json) {
  out += '[';
  out += boost::json::serialize(boost::json::string_view(event.data(), event.size()));
  if (!args_json.empty()) {
    out += ',';
    out += args_json;
  }
  out += ']';
}

// An Engine.IO message so far: its one-character prefix, written by the Engine.IO codec.
std::string StartMessage(size_t expected_size) {
  std::string out = engineio::EncodeTextPacket(engineio::PacketType::kMessage);
  out.reserve(expected_size);
  return out;
}

}  // namespace

std::string EncodeText(const Packet& packet) {
  std::string out;
  AppendText(out, packet);
  return out;
}

std::string EncodeMessage(const Packet& packet) {
  std::string out = StartMessage(32);
  AppendText(out, packet);
  return out;
}

std::string EncodeEventMessage(std::string_view nsp, std::string_view event,
                               std::string_view args_json, size_t attachments) {
  // One buffer for the whole message: this runs once per emit.
  std::string out = StartMessage(16 + nsp.size() + event.size() + args_json.size());
  AppendHeader(out, attachments > 0 ? PacketType::kBinaryEvent : PacketType::kEvent, attachments,
               nsp, std::nullopt);
  AppendEventArray(out, event, args_json);
  return out;
}

std::string WithOffsetArgument(std::string_view message, std::string_view offset) {
  // The event array closes the message: the offset goes in before it.
  const std::string quoted = boost::json::serialize(boost::json::string_view(offset));
  std::string out;
  out.reserve(message.size() + quoted.size() + 1);
  out.append(message.substr(0, message.size() - 1));
  out.push_back(',');
  out.append(quoted);
  out.push_back(']');
  return out;
}

std::string RecoveryOffset(std::string_view epoch, uint64_t offset) {
  return absl::StrCat(ToAbsl(epoch), ":", offset);
}

bool ParseRecoveryOffset(std::string_view text, std::string& epoch, uint64_t& offset) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos ||
      !absl::SimpleAtoi(ToAbsl(text.substr(colon + 1)), &offset)) {
    return false;
  }
  epoch = std::string(text.substr(0, colon));
  return true;
}

absl::StatusOr<DecodedText> DecodeText(std::string_view text, size_t max_attachments) {
  DecodedText decoded;
  Packet& packet = decoded.packet;
  if (text.empty() || text[0] < '0' || text[0] > '6') {
    return absl::InvalidArgumentError("unknown Socket.IO packet type");
  }
  packet.type = static_cast<PacketType>(text[0] - '0');
  size_t pos = 1;

  if (IsBinaryType(packet.type)) {
    std::string_view digits = TakeDigits(text, pos);
    size_t count = 0;
    if (digits.empty() || pos >= text.size() || text[pos] != '-' ||
        !absl::SimpleAtoi(ToAbsl(digits), &count) || count > max_attachments) {
      return absl::InvalidArgumentError("illegal attachments");
    }
    ++pos;
    decoded.expected_attachments = count;
  }

  if (pos < text.size() && text[pos] == '/') {
    const size_t comma = text.find(',', pos);
    const size_t end = comma == std::string_view::npos ? text.size() : comma;
    packet.nsp = std::string(text.substr(pos, end - pos));
    pos = comma == std::string_view::npos ? text.size() : comma + 1;
  }

  if (std::string_view digits = TakeDigits(text, pos); !digits.empty()) {
    uint64_t id = 0;
    if (!absl::SimpleAtoi(ToAbsl(digits), &id)) {
      return absl::InvalidArgumentError("invalid ack id");
    }
    packet.id = id;
  }

  if (pos < text.size()) {
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(text.substr(pos), ec);
    if (ec) {
      return absl::InvalidArgumentError(absl::StrCat("invalid payload JSON: ", ec.message()));
    }
    packet.data = std::move(value);
  }

  if (absl::Status status = ValidatePayload(packet); !status.ok()) {
    return status;
  }
  if (packet.data && decoded.expected_attachments > 0) {
    if (absl::Status status = ValidatePlaceholders(*packet.data, decoded.expected_attachments);
        !status.ok()) {
      return status;
    }
  }
  return decoded;
}

absl::StatusOr<std::optional<Packet>> Decoder::OnText(std::string_view text) {
  if (pending_) {
    return absl::InvalidArgumentError("text packet while binary attachments are expected");
  }
  absl::StatusOr<DecodedText> decoded = DecodeText(text, max_attachments_);
  if (!decoded.ok()) {
    return decoded.status();
  }
  if (decoded->expected_attachments == 0) {
    return std::optional<Packet>(std::move(decoded->packet));
  }
  expected_ = decoded->expected_attachments;
  pending_ = std::make_unique<Packet>(std::move(decoded->packet));
  pending_->attachments.reserve(expected_);
  return std::optional<Packet>();
}

absl::StatusOr<std::optional<Packet>> Decoder::OnBinary(std::string_view bytes) {
  if (!pending_) {
    return absl::InvalidArgumentError("binary data without a binary packet");
  }
  pending_->attachments.emplace_back(bytes);
  if (pending_->attachments.size() < expected_) {
    return std::optional<Packet>();
  }
  std::optional<Packet> complete = std::move(*pending_);
  pending_.reset();
  expected_ = 0;
  return complete;
}

std::string EventArrayJson(std::string_view event, std::string_view args_json) {
  std::string out;
  AppendEventArray(out, event, args_json);
  return out;
}

}  // namespace roomcast::socketio
