#include "server/control/api_keys_reloader.h"

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

namespace roomcast::control {
namespace {

class ApiKeysReloaderTest : public ::testing::Test {
 protected:
  void Write(const std::string& text) {
    std::ofstream(path_ + ".new") << text;
    std::rename((path_ + ".new").c_str(), path_.c_str());  // As Kubernetes swaps ..data.
  }
  void TearDown() override { std::remove(path_.c_str()); }

  const std::string path_ = ::testing::TempDir() + "/roomcast_reloader_keys";
  base::Counters counters_;
  TimerThread timers_;
};

TEST_F(ApiKeysReloaderTest, ANewFileReplacesItsKeysAndKeepsTheFixedOnes) {
  Write("a:one\n");
  auth::ApiKeys keys(std::vector<auth::NamedKey>{{"env-1", "fixed"}, {"a", "one"}});
  ApiKeysReloader reloader({path_, std::chrono::seconds(1), {{"env-1", "fixed"}}}, keys, timers_,
                           counters_);
  reloader.Start();
  EXPECT_EQ(counters_.api_keys_reloads, 0u);  // The same file as at startup: nothing to do.
  Write("b:two\n");
  reloader.Poll();
  EXPECT_EQ(counters_.api_keys_reloads, 1u);
  EXPECT_EQ(keys.Identify("Bearer one", std::nullopt), std::nullopt);
  EXPECT_EQ(keys.Identify("Bearer two", std::nullopt), "b");
  EXPECT_EQ(keys.Identify("Bearer fixed", std::nullopt), "env-1");
  reloader.Poll();  // Unchanged: not counted again.
  EXPECT_EQ(counters_.api_keys_reloads, 1u);
  timers_.Stop();
}

TEST_F(ApiKeysReloaderTest, ABadFileKeepsTheKeysAndCountsOncePerVersion) {
  Write("a:one\n");
  auth::ApiKeys keys(std::vector<auth::NamedKey>{{"a", "one"}});
  ApiKeysReloader reloader({path_, std::chrono::seconds(1), {}}, keys, timers_, counters_);
  reloader.Start();
  Write("a:one\nbroken\n");
  reloader.Poll();
  reloader.Poll();
  EXPECT_EQ(counters_.api_keys_reload_failures, 1u);
  EXPECT_EQ(keys.Identify("Bearer one", std::nullopt), "a");
  Write("");  // No key at all: refused too.
  reloader.Poll();
  EXPECT_EQ(counters_.api_keys_reload_failures, 2u);
  std::remove(path_.c_str());  // Gone: the keys stay.
  reloader.Poll();
  EXPECT_EQ(counters_.api_keys_reload_failures, 3u);
  EXPECT_EQ(keys.Identify("Bearer one", std::nullopt), "a");
  Write("a:one\nc:three\n");
  reloader.Poll();
  EXPECT_EQ(keys.Identify("Bearer three", std::nullopt), "c");
  timers_.Stop();
}

}  // namespace
}  // namespace roomcast::control
