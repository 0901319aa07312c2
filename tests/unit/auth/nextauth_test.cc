#include "server/auth/nextauth.h"

#include <gtest/gtest.h>

namespace roomcast::auth {
namespace {

TEST(FindSessionCookieTest, FindsEachNameAndJoinsChunksInOrder) {
  auto v4 = FindSessionCookie("a=1; next-auth.session-token=abc; b=2");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->name, "next-auth.session-token");
  EXPECT_EQ(v4->value, "abc");

  auto chunked =
      FindSessionCookie("__Secure-authjs.session-token.1=def; __Secure-authjs.session-token.0=abc");
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->name, "__Secure-authjs.session-token");
  EXPECT_EQ(chunked->value, "abcdef");

  EXPECT_FALSE(FindSessionCookie("session=abc; other=1"));
}

TEST(DecryptSessionTokenTest, RefusesWhatIsNotADirectJwe) {
  EXPECT_FALSE(DecryptSessionToken("a.b.c", "next-auth.session-token", "s").ok());
  EXPECT_FALSE(DecryptSessionToken("eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAA.AAAA.AAAA",
                                   "next-auth.session-token", "s")
                   .ok());
  // An Auth.js cookie name with a v4 encryption is refused, not misread.
  EXPECT_FALSE(DecryptSessionToken("eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAA.AAAA.AAAA",
                                   "authjs.session-token", "s")
                   .ok());
}

}  // namespace
}  // namespace roomcast::auth
