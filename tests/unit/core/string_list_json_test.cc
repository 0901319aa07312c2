#include "server/core/string_list_json.h"

#include <gtest/gtest.h>

namespace roomcast::core {
namespace {

TEST(StringListJsonTest, RoundTripsAndKeepsOnlyStringsOfAnArray) {
  const std::vector<std::string> rooms = {"news", "a \"quoted\" room", ""};
  EXPECT_EQ(ParseStringList(StringListJson(rooms)), rooms);
  EXPECT_EQ(StringListJson({}), "[]");
  EXPECT_EQ(ParseStringList(R"(["a",1,null,"b"])"), (std::vector<std::string>{"a", "b"}));
  for (const char* bad : {"", "[", "{\"a\":1}", "\"a\"", "null"}) {
    EXPECT_TRUE(ParseStringList(bad).empty()) << bad;
  }
}

}  // namespace
}  // namespace roomcast::core
