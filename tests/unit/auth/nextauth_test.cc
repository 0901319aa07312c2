#include "server/auth/nextauth.h"

#include <string>
#include <utility>
#include <vector>

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

// What cjose 0.6.2 would mishandle never reaches it: a short IV (it reads a
// fixed 12 or 16 bytes) and a '=' after 4n+1 characters (its decoder aborts).
TEST(DecryptSessionTokenTest, RefusesShortIvsAndPaddingBeforeCjose) {
  const std::string gcm = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0";
  const std::string cbc = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2Q0JDLUhTNTEyIn0";
  for (const auto& [token, cookie] : std::vector<std::pair<std::string, std::string>>{
           {gcm + "..AAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA", "next-auth.session-token"},
           {cbc + "..AAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "authjs.session-token"},
           {gcm + "..a=.AAAA.AAAA", "next-auth.session-token"},
           {gcm + "=..AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA", "next-auth.session-token"}}) {
    absl::StatusOr<boost::json::object> claims = DecryptSessionToken(token, cookie, "s");
    EXPECT_EQ(claims.status().message(), "malformed session token") << token;
  }
  // The right sizes reach the decryption, which the secret fails.
  EXPECT_EQ(DecryptSessionToken(gcm + "..AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA",
                                "next-auth.session-token", "s")
                .status()
                .message(),
            "session token does not decrypt with this secret");
}

}  // namespace
}  // namespace roomcast::auth
