#include "server/auth/api_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace roomcast::auth {
namespace {

using ::testing::HasSubstr;

TEST(KeysFromListTest, NamesTheKeysInOrderAndSkipsBlanks) {
  std::vector<NamedKey> keys = KeysFromList(" a , ,b,");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].name, "env-1");
  EXPECT_EQ(keys[0].key, "a");
  EXPECT_EQ(keys[1].name, "env-2");
  EXPECT_EQ(keys[1].key, "b");
  EXPECT_TRUE(KeysFromList("").empty());
}

TEST(ParseKeysFileTest, ReadsNameKeyLinesWithCommentsAndBlanks) {
  auto keys = ParseKeysFile("# services\n\nbilling:k1\n  chat : k:2  \r\n");
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].name, "billing");
  EXPECT_EQ((*keys)[0].key, "k1");
  EXPECT_EQ((*keys)[1].name, "chat");
  EXPECT_EQ((*keys)[1].key, "k:2");  // Only the first colon splits.
}

TEST(ParseKeysFileTest, RefusesBadLinesWithTheirNumber) {
  auto error = [](std::string_view text) {
    return std::string(ParseKeysFile(text).status().message());
  };
  EXPECT_THAT(error("a:1\nnocolon\n"), HasSubstr("line 2: expected name:key"));
  EXPECT_THAT(error(":k\n"), HasSubstr("line 1: the name must be"));
  EXPECT_THAT(error("a b:k\n"), HasSubstr("line 1: the name must be"));
  EXPECT_THAT(error(std::string(65, 'n') + ":k\n"), HasSubstr("line 1: the name must be"));
  EXPECT_THAT(error("a:\n"), HasSubstr("line 1: the key is empty"));
  EXPECT_THAT(error("a:k k\n"), HasSubstr("line 1: the key contains whitespace"));
  EXPECT_THAT(error("a:1\n#\na:2\n"), HasSubstr("line 3: the name \"a\" repeats"));
  EXPECT_THAT(error("a:1\nb:1\n"), HasSubstr("line 2: the key repeats"));
  EXPECT_THAT(error("# none\n\n"), HasSubstr("the file names no key"));
  EXPECT_THAT(error(""), HasSubstr("the file names no key"));
}

TEST(CheckUniqueKeysTest, RefusesRepeatsAcrossSources) {
  EXPECT_TRUE(CheckUniqueKeys({{"env-1", "a"}, {"svc", "b"}}).ok());
  EXPECT_FALSE(CheckUniqueKeys({{"env-1", "a"}, {"svc", "a"}}).ok());
  EXPECT_FALSE(CheckUniqueKeys({{"svc", "a"}, {"svc", "b"}}).ok());
}

TEST(ApiKeysTest, NoKeysRequiresNone) {
  ApiKeys keys(std::vector<NamedKey>{});
  EXPECT_FALSE(keys.required());
  EXPECT_EQ(keys.Identify(std::nullopt, std::nullopt), "");
}

TEST(ApiKeysTest, IdentifiesEachKeyByNameEitherWay) {
  ApiKeys keys(std::vector<NamedKey>{{"env-1", "alpha"}, {"billing", "beta"}});
  EXPECT_TRUE(keys.required());
  EXPECT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys.Identify("Bearer alpha", std::nullopt), "env-1");
  EXPECT_EQ(keys.Identify(std::nullopt, "beta"), "billing");
  EXPECT_EQ(keys.Identify("Bearer wrong", "beta"), "billing");
  EXPECT_EQ(keys.Identify("Bearer beta", "alpha"), "billing");  // The authorization header first.
  EXPECT_EQ(keys.Identify(std::nullopt, std::nullopt), std::nullopt);
  EXPECT_EQ(keys.Identify("alpha", std::nullopt), std::nullopt);  // Not a Bearer.
  EXPECT_EQ(keys.Identify("Bearer alph", std::nullopt), std::nullopt);
  EXPECT_EQ(keys.Identify("Bearer alphaa", std::nullopt), std::nullopt);
  EXPECT_EQ(keys.Identify(std::nullopt, ""), std::nullopt);
}

TEST(ApiKeysTest, ReplaceSwapsTheWholeSet) {
  ApiKeys keys(std::vector<NamedKey>{{"old", "k1"}});
  ASSERT_TRUE(keys.Replace({{"new", "k2"}, {"other", "k3"}}).ok());
  EXPECT_EQ(keys.Identify("Bearer k1", std::nullopt), std::nullopt);
  EXPECT_EQ(keys.Identify("Bearer k2", std::nullopt), "new");
  EXPECT_FALSE(keys.Replace({}).ok());
  EXPECT_FALSE(keys.Replace({{"a", "x"}, {"a", "y"}}).ok());
  EXPECT_EQ(keys.Identify("Bearer k3", std::nullopt), "other");  // Refused sets change nothing.
}

}  // namespace
}  // namespace roomcast::auth
