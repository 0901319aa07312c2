#include "server/app/config.h"

#include <cstdlib>
#include <fstream>
#include <optional>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/app/settings.h"

namespace roomcast::app {
namespace {

using ::testing::HasSubstr;

// LoadConfig on a command line, with every setting's variable cleared first
// (and the machine's own restored after).
class LoadConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const Setting& setting : Settings()) Clear(std::string(setting.env));
    Clear("HOSTNAME");
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_) {
      value ? setenv(name.c_str(), value->c_str(), 1) : unsetenv(name.c_str());
    }
  }
  void Clear(const std::string& name) {
    const char* value = std::getenv(name.c_str());
    saved_.emplace_back(name, value ? std::optional<std::string>(value) : std::nullopt);
    unsetenv(name.c_str());
  }
  static void Set(const char* name, const char* value) { setenv(name, value, 1); }

  static absl::StatusOr<Config> Load(std::vector<std::string> args) {
    args.insert(args.begin(), "roomcastd");
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    return LoadConfig(static_cast<int>(argv.size()), argv.data());
  }
  static std::string Error(std::vector<std::string> args) {
    absl::StatusOr<Config> config = Load(std::move(args));
    return config.ok() ? "(loaded)" : std::string(config.status().message());
  }

  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST_F(LoadConfigTest, NothingGivenIsTheDefaultsResolved) {
  absl::StatusOr<Config> config = Load({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->port, 3001);
  EXPECT_EQ(config->grpc_port, 50051);
  EXPECT_EQ(config->host, "::");
  EXPECT_EQ(config->ping_interval, std::chrono::milliseconds(25000));
  EXPECT_EQ(config->send_queue_bytes, size_t{8} << 20);
  EXPECT_EQ(config->namespaces, std::vector<std::string>{"/"});
  EXPECT_EQ(config->auth.jwt.leeway, std::chrono::seconds(60));
  EXPECT_EQ(config->shards, std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(config->log_format, "text");
  EXPECT_FALSE(config->production);
}

TEST_F(LoadConfigTest, AFlagWinsOverItsVariableAndAnEmptyVariableIsUnset) {
  Set("PORT", "4000");
  Set("GRPC_PORT", "");
  Set("ROOMCAST_PING_INTERVAL_MS", "1234");
  absl::StatusOr<Config> config = Load({"--port=5000"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->port, 5000);
  EXPECT_EQ(config->grpc_port, 50051);
  EXPECT_EQ(config->ping_interval, std::chrono::milliseconds(1234));
}

TEST_F(LoadConfigTest, AVariableOverriddenByAFlagIsNotEvenRead) {
  Set("PORT", "not-a-port");
  EXPECT_TRUE(Load({"--port", "5000"}).ok());
}

TEST_F(LoadConfigTest, FlagSpellings) {
  absl::StatusOr<Config> config =
      Load({"--port", "5000", "-grpc_port=6000", "--insecure", "--noenable_client_broadcast"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->port, 5000);
  EXPECT_EQ(config->grpc_port, 6000);
  EXPECT_TRUE(config->insecure);
  EXPECT_FALSE(config->enable_client_broadcast);
  EXPECT_TRUE(Load({"--insecure=false"}).ok());
}

TEST_F(LoadConfigTest, ErrorsNameTheSettingAsTheUserGaveIt) {
  EXPECT_EQ(Error({"--port=abc"}), "invalid value 'abc' for --port (PORT): not an integer");
  Set("PORT", "70000");
  EXPECT_EQ(Error({}), "invalid value '70000' for PORT (--port): must be 0-65535");
  unsetenv("PORT");
  EXPECT_EQ(Error({"--ping_interval_ms=0"}),
            "invalid value '0' for --ping_interval_ms (ROOMCAST_PING_INTERVAL_MS): must be >= 1");
  EXPECT_EQ(Error({"--no_such_flag=1"}), "unknown flag --no_such_flag (--help lists them)");
  EXPECT_EQ(Error({"--noport"}), "unknown flag --noport (--help lists them)");
  EXPECT_EQ(Error({"--port"}), "missing value for --port (PORT)");
  EXPECT_EQ(Error({"stray"}), "unexpected argument 'stray'");
  EXPECT_THAT(Error({"--insecure=maybe"}), HasSubstr("not a boolean"));
}

TEST_F(LoadConfigTest, ListsAreCheckedItemByItem) {
  EXPECT_THAT(Error({"--namespaces=/,admin"}), HasSubstr("namespace 'admin' must start with '/'"));
  EXPECT_THAT(Error({"--trusted_proxies=10.0.0.1, proxy.local"}),
              HasSubstr("'proxy.local' is not an IP address"));
  EXPECT_THAT(Error({"--trusted_proxies=10.0.0.0/33"}),
              HasSubstr("'10.0.0.0/33' is not an IP address or CIDR block"));
  absl::StatusOr<Config> config =
      Load({"--namespaces= /, /admin ,", "--trusted_proxies=::1, 10.0.0.0/8"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->namespaces, (std::vector<std::string>{"/", "/admin"}));
  EXPECT_EQ(config->trusted_proxies, (std::vector<std::string>{"::1", "10.0.0.0/8"}));
}

TEST_F(LoadConfigTest, BoundsChoicesAndUnits) {
  EXPECT_THAT(Error({"--max_attachments=1001"}), HasSubstr("must be 0-1000"));
  EXPECT_THAT(Error({"--shards=65"}), HasSubstr("must be 0-64"));
  EXPECT_THAT(Error({"--log_format=xml"}), HasSubstr("one of text, json"));
  EXPECT_THAT(Error({"--log_level=loud"}), HasSubstr("one of trace, debug, info, warn, error"));
  absl::StatusOr<Config> config = Load({"--memory_soft_limit_mb=3", "--shards=3"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->memory_soft_limit_bytes, size_t{3} << 20);
  EXPECT_EQ(config->shards, 3u);
}

TEST_F(LoadConfigTest, TheBindAddressIsAnIpLiteralOrHostnameWhenThatIsOne) {
  EXPECT_THAT(Error({"--host=localhost"}), HasSubstr("not an IP address"));
  Set("HOSTNAME", "roomcast-7f9c");  // A container's name: ignored.
  EXPECT_EQ(Load({})->host, "::");
  Set("HOSTNAME", "10.1.2.3");
  EXPECT_EQ(Load({})->host, "10.1.2.3");
  EXPECT_EQ(Load({"--host=127.0.0.1"})->host, "127.0.0.1");
}

TEST_F(LoadConfigTest, ApiKeysFromTheListAndTheFile) {
  const std::string path = ::testing::TempDir() + "/roomcast_api_keys";
  std::ofstream(path) << "# services\nbilling:b-key\n";
  absl::StatusOr<Config> config = Load({"--api_keys_file=" + path});
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->api_keys.size(), 1u);
  EXPECT_EQ(config->api_keys[0].name, "billing");
  EXPECT_EQ(config->api_keys_reload_interval, std::chrono::seconds(5));
  Set("INTERNAL_API_KEY", "first,second");
  config = Load({"--api_keys_file=" + path});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->webhook_secret, "first");  // The list's first key signs the webhook.
  Set("INTERNAL_API_KEY", "b-key");
  EXPECT_THAT(Error({"--api_keys_file=" + path}), HasSubstr("repeats an earlier key"));
  unsetenv("INTERNAL_API_KEY");
  std::ofstream(path) << "billing:b-key\nbroken\n";
  EXPECT_THAT(Error({"--api_keys_file=" + path}), HasSubstr("line 2: expected name:key"));
  EXPECT_THAT(Error({"--api_keys_file=" + path + ".missing"}), HasSubstr("api_keys_file"));
  EXPECT_THAT(Error({"--api_keys_reload_interval_s=0"}), HasSubstr("must be 1-3600"));
  std::ofstream(path) << "billing:b-key\n";
  Set("NODE_ENV", "production");
  Set("JWT_SECRET", "s");
  EXPECT_TRUE(Load({"--api_keys_file=" + path}).ok()) << "a keys file stands for INTERNAL_API_KEY";
  unsetenv("JWT_SECRET");
  std::remove(path.c_str());
}

TEST_F(LoadConfigTest, ProductionNeedsAKeyAndBrowserAuthenticationUnlessInsecure) {
  Set("NODE_ENV", "production");
  EXPECT_THAT(Error({}), HasSubstr("requires INTERNAL_API_KEY"));
  Set("INTERNAL_API_KEY", "k");
  EXPECT_THAT(Error({}), HasSubstr("requires browser authentication"));
  Set("JWT_SECRET", "s");
  absl::StatusOr<Config> config = Load({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->production);
  unsetenv("INTERNAL_API_KEY");
  unsetenv("JWT_SECRET");
  EXPECT_TRUE(Load({"--insecure"}).ok());
}

TEST_F(LoadConfigTest, FilesAreReadAndCheckedAtStartup) {
  EXPECT_THAT(Error({"--room_policy=/nonexistent/policy.json"}),
              HasSubstr("for --room_policy (ROOMCAST_ROOM_POLICY): cannot read the file"));
  EXPECT_THAT(Error({"--jwt_public_key_file=/nonexistent/key.pem"}),
              HasSubstr("cannot read the file"));
  const std::string path = ::testing::TempDir() + "/not_a_key.pem";
  std::ofstream(path) << "not a PEM key";
  EXPECT_THAT(Error({"--jwt_public_key_file=" + path}),
              HasSubstr("(--jwt_public_key_file (ROOMCAST_JWT_PUBLIC_KEY_FILE))"));
  const std::string policy = ::testing::TempDir() + "/policy.json";
  std::ofstream(policy) << R"({"allow": ["public:*"]})";
  EXPECT_TRUE(Load({"--room_policy=" + policy}).ok());
}

}  // namespace
}  // namespace roomcast::app
