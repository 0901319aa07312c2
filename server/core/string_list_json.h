#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace roomcast::core {

// A list of strings as a JSON array, as the Redis session store keeps a
// session's rooms and PostgreSQL's array_to_json gives columns back.
// Parsing keeps the strings of a well-formed array, nothing of anything else.
std::string StringListJson(const std::vector<std::string>& items);
std::vector<std::string> ParseStringList(std::string_view json);

}  // namespace roomcast::core
