#include "server/control/json_shape.h"

#include <boost/json.hpp>

#include "absl/strings/str_cat.h"

namespace roomcast::control {
namespace {

namespace protobuf = google::protobuf;
using protobuf::FieldDescriptor;

const char* KindOf(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_:
      return "a number";
    case boost::json::kind::string:
      return "a string";
    case boost::json::kind::array:
      return "an array";
    case boost::json::kind::object:
      return "an object";
  }
  return "a value";
}

absl::Status WrongType(const std::string& path, const char* expected,
                       const boost::json::value& got) {
  return absl::InvalidArgumentError(
      absl::StrCat("field '", path, "': expected ", expected, ", got ", KindOf(got)));
}

absl::Status CheckMessage(const boost::json::value& json, const protobuf::Descriptor& type,
                          const std::string& path);

// google.protobuf.* types with a JSON form of their own.
bool IsFreeForm(const protobuf::Descriptor& type) {
  return type.file()->package() == "google.protobuf";
}

absl::Status CheckSingle(const boost::json::value& value, const FieldDescriptor& field,
                         const std::string& path) {
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
      return value.is_bool() ? absl::OkStatus() : WrongType(path, "a boolean", value);
    case FieldDescriptor::CPPTYPE_STRING:
      return value.is_string() ? absl::OkStatus() : WrongType(path, "a string", value);
    case FieldDescriptor::CPPTYPE_ENUM:
      return value.is_string() || value.is_int64() ? absl::OkStatus()
                                                   : WrongType(path, "an enum name", value);
    case FieldDescriptor::CPPTYPE_MESSAGE:
      if (IsFreeForm(*field.message_type())) {
        return absl::OkStatus();  // Value, Struct, ...: protobuf checks their own forms.
      }
      return CheckMessage(value, *field.message_type(), path);
    default:  // Numbers: the JSON mapping also takes them as strings.
      return value.is_number() || value.is_string() ? absl::OkStatus()
                                                    : WrongType(path, "a number", value);
  }
}

absl::Status CheckField(const boost::json::value& value, const FieldDescriptor& field,
                        const std::string& path) {
  if (value.is_null()) {
    return absl::OkStatus();  // null is the default value of any field.
  }
  if (field.is_map()) {
    if (!value.is_object()) {
      return WrongType(path, "an object", value);
    }
    const FieldDescriptor& map_value = *field.message_type()->map_value();
    for (const auto& [key, item] : value.as_object()) {
      if (absl::Status status =
              CheckSingle(item, map_value, absl::StrCat(path, ".", std::string(key)));
          !status.ok()) {
        return status;
      }
    }
    return absl::OkStatus();
  }
  if (field.is_repeated()) {
    if (!value.is_array()) {
      return WrongType(path, "an array", value);
    }
    const boost::json::array& items = value.as_array();
    for (size_t i = 0; i < items.size(); ++i) {
      if (absl::Status status = CheckSingle(items[i], field, absl::StrCat(path, "[", i, "]"));
          !status.ok()) {
        return status;
      }
    }
    return absl::OkStatus();
  }
  return CheckSingle(value, field, path);
}

absl::Status CheckMessage(const boost::json::value& json, const protobuf::Descriptor& type,
                          const std::string& path) {
  if (!json.is_object()) {
    return WrongType(path.empty() ? "(body)" : path, "an object", json);
  }
  for (const auto& [key, value] : json.as_object()) {
    const std::string name(key);
    const std::string field_path = path.empty() ? name : absl::StrCat(path, ".", name);
    const FieldDescriptor* field = FieldNamed(type, name);
    if (field == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown field '", field_path, "'"));
    }
    if (absl::Status status = CheckField(value, *field, field_path); !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

}  // namespace

const FieldDescriptor* FieldNamed(const protobuf::Descriptor& type, std::string_view name) {
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor* field = type.field(i);
    if (field->name() == name || field->json_name() == name) {
      return field;
    }
  }
  return nullptr;
}

absl::Status CheckJsonShape(const boost::json::value& json, const protobuf::Descriptor& type) {
  return CheckMessage(json, type, "");
}

}  // namespace roomcast::control
