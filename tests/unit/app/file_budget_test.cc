#include "server/app/file_budget.h"

#include <gtest/gtest.h>

namespace roomcast::app {
namespace {

TEST(FileBudgetTest, KeepsAReserveAndGivesTheRestToSessions) {
  // The limit this machine kind has: 19,000 sessions, as the old fixed default.
  EXPECT_EQ(FileBudget::For(20000, false).connections, 19000u);
  EXPECT_EQ(FileBudget::For(20000, false).all, 19500u);
  // A large limit keeps 5 %.
  EXPECT_EQ(FileBudget::For(1 << 20, false).connections, (1u << 20) - (1u << 20) / 20);
  // A small one keeps half.
  EXPECT_EQ(FileBudget::For(1024, false).connections, 512u);
  EXPECT_EQ(FileBudget::For(1024, false).all, 768u);
}

TEST(FileBudgetTest, TlsConnectionsHoldThreeDescriptors) {
  EXPECT_EQ(FileBudget::For(20000, true).connections, 19000u / 3);
  EXPECT_EQ(FileBudget::For(20000, true).all, 19000u / 3 + 500u / 3);
}

TEST(FileBudgetTest, RaisingTheLimitLeavesAUsableOne) { EXPECT_GE(RaiseOpenFileLimit(), 64u); }

}  // namespace
}  // namespace roomcast::app
