#include "server/base/token_bucket.h"

#include <gtest/gtest.h>

namespace roomcast::base {
namespace {

using std::chrono::milliseconds;

TEST(TokenBucketTest, AllowsABurstThenTheRate) {
  const auto t0 = TokenBucket::Clock::now();
  TokenBucket bucket(10, 3, t0);
  EXPECT_TRUE(bucket.Take(t0));
  EXPECT_TRUE(bucket.Take(t0));
  EXPECT_TRUE(bucket.Take(t0));
  EXPECT_FALSE(bucket.Take(t0));
  EXPECT_TRUE(bucket.Take(t0 + milliseconds(100)));  // 10/s: one more after 100 ms.
  EXPECT_FALSE(bucket.Take(t0 + milliseconds(150)));
  EXPECT_TRUE(bucket.full(t0 + milliseconds(1000)));
}

}  // namespace
}  // namespace roomcast::base
