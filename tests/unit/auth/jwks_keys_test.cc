#include "server/auth/jwks_keys.h"

#include <gtest/gtest.h>

namespace roomcast::auth {
namespace {

using std::chrono::seconds;

JwksOptions Options() {
  JwksOptions options;
  options.url = "http://127.0.0.1/jwks";
  options.refresh = seconds(300);
  options.min_refresh = seconds(30);
  return options;
}

TEST(RefreshAfterTest, TakesMaxAgeWithinBounds) {
  const JwksOptions options = Options();
  EXPECT_EQ(RefreshAfter("public, max-age=600", options), seconds(600));
  EXPECT_EQ(RefreshAfter("Max-Age=\"120\", must-revalidate", options), seconds(120));
  EXPECT_EQ(RefreshAfter("max-age=5", options), seconds(30));  // The floor.
  EXPECT_EQ(RefreshAfter("max-age=0", options), seconds(30));
  EXPECT_EQ(RefreshAfter("max-age=31536000", options), seconds(86400));  // A day at most.
}

TEST(RefreshAfterTest, NoCacheMeansTheFloorAndNoneTheDefault) {
  const JwksOptions options = Options();
  EXPECT_EQ(RefreshAfter("no-cache", options), seconds(30));
  EXPECT_EQ(RefreshAfter("no-store, max-age=600", options), seconds(30));
  EXPECT_EQ(RefreshAfter("", options), seconds(300));
  EXPECT_EQ(RefreshAfter("public", options), seconds(300));
  EXPECT_EQ(RefreshAfter("max-age=soon", options), seconds(300));
  EXPECT_EQ(RefreshAfter("max-age=-5", options), seconds(300));
  EXPECT_EQ(RefreshAfter("max-age=", options), seconds(300));
  EXPECT_EQ(RefreshAfter("max-age=99999999999999999999999", options), seconds(300));
}

TEST(JwksKeysTest, AFailedFetchKeepsTheKeys) {
  JwksKeys keys(Options());
  EXPECT_EQ(keys.current(), nullptr);
  keys.FetchFailed(absl::UnavailableError("Connection refused"));
  EXPECT_EQ(keys.state().keys, 0u);
  EXPECT_EQ(keys.state().last_error, "Connection refused");
  std::shared_ptr<const JwkSet> set =
      *JwkSet::Parse(R"({"keys":[{"kty":"EC","kid":"a","crv":"P-256",)"
                     R"("x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
                     R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})");
  keys.Replace(set);
  EXPECT_TRUE(keys.state().last_fetch_ok);
  keys.FetchFailed(absl::DeadlineExceededError("no answer in 5 s"));
  EXPECT_EQ(keys.current(), set);
  EXPECT_EQ(keys.state().keys, 1u);
  EXPECT_FALSE(keys.state().last_fetch_ok);
}

TEST(JwksKeysTest, AnUnknownKidRefetchesAtMostOncePerInterval) {
  JwksKeys keys(Options());
  int asked = 0;
  const auto t0 = std::chrono::steady_clock::time_point(seconds(1000));
  EXPECT_FALSE(keys.RefetchForUnknownKid(t0));  // No fetcher yet.
  keys.SetRefetch([&] { ++asked; });
  EXPECT_TRUE(keys.RefetchForUnknownKid(t0));
  EXPECT_FALSE(keys.RefetchForUnknownKid(t0 + seconds(29)));
  EXPECT_TRUE(keys.RefetchForUnknownKid(t0 + seconds(30)));
  EXPECT_EQ(asked, 2);
  keys.SetRefetch(nullptr);
  EXPECT_FALSE(keys.RefetchForUnknownKid(t0 + seconds(100)));
  EXPECT_EQ(asked, 2);
}

}  // namespace
}  // namespace roomcast::auth
