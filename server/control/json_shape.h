#pragma once

#include <google/protobuf/descriptor.h>
#include <boost/json/value.hpp>

#include "absl/status/status.h"

namespace roomcast::control {

// Checks that a JSON request has the shape of a message before protobuf's
// JSON mapping reads it: known fields only, and each of the right JSON type
// (protobuf's parser is lenient: it takes "yes" for a bool, or one string
// for a list). The error names the field's path.
// A field by its proto name (`except_rooms`) or JSON name (`exceptRooms`).
const google::protobuf::FieldDescriptor* FieldNamed(const google::protobuf::Descriptor& type,
                                                    std::string_view name);

absl::Status CheckJsonShape(const boost::json::value& json,
                            const google::protobuf::Descriptor& type);

}  // namespace roomcast::control
