#include "server/core/string_list_json.h"

#include <boost/json.hpp>

namespace roomcast::core {

namespace json = boost::json;

std::string StringListJson(const std::vector<std::string>& items) {
  json::array array;
  array.reserve(items.size());
  for (const std::string& item : items) {
    array.emplace_back(item);
  }
  return json::serialize(array);
}

std::vector<std::string> ParseStringList(std::string_view text) {
  std::vector<std::string> items;
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (!ec && value.is_array()) {
    for (const json::value& item : value.get_array()) {
      if (item.is_string()) {
        items.emplace_back(item.get_string());
      }
    }
  }
  return items;
}

}  // namespace roomcast::core
