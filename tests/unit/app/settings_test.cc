#include "server/app/settings.h"

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace roomcast::app {
namespace {

struct Row {
  std::string flag;
  std::string fallback;  // As the README shows it: `value` or "unset".
  bool secret = false;
};

// The README's configuration table, by environment variable: rows
// `| `ENV` | `--flag` | default | secret | meaning |`. Rows without a flag
// (variables read for something else, like HOSTNAME) are skipped.
std::map<std::string, Row> ReadmeTable() {
  std::ifstream file(std::string(ROOMCAST_SOURCE_DIR) + "/README.md");
  std::stringstream text;
  text << file.rdbuf();
  const std::string readme = text.str();
  const size_t table = readme.find("| env var | flag | default | secret | meaning |");
  EXPECT_NE(table, std::string::npos) << "README.md has no settings table";
  std::map<std::string, Row> rows;
  std::istringstream lines(readme.substr(table));
  std::string line;
  const std::regex row(R"(^\| `(\w+)` \| `--(\w+)` \| (`[^`]*`|unset) \| (yes)? *\|.*\|$)");
  std::getline(lines, line);
  std::getline(lines, line);
  while (std::getline(lines, line) && line.starts_with("|")) {
    std::smatch match;
    if (std::regex_match(line, match, row)) {
      EXPECT_TRUE(rows.emplace(match[1], Row{match[2], match[3], match[4].matched}).second)
          << match[1] << " twice in README.md";
    } else {
      EXPECT_THAT(line, ::testing::StartsWith("| `HOSTNAME` | |")) << "not a settings row";
    }
  }
  return rows;
}

TEST(SettingsTest, TheReadmeTableIsTheSettingsTable) {
  std::map<std::string, Row> readme = ReadmeTable();
  for (const Setting& setting : Settings()) {
    const std::string env(setting.env);
    auto it = readme.find(env);
    if (it == readme.end()) {
      ADD_FAILURE() << env << " (--" << setting.flag << ") is missing from README.md";
      continue;
    }
    EXPECT_EQ(it->second.flag, setting.flag) << env;
    EXPECT_EQ(it->second.fallback,
              setting.fallback.empty() ? "unset" : "`" + std::string(setting.fallback) + "`")
        << env;
    EXPECT_EQ(it->second.secret, setting.secret == Secret::kYes) << env << ": secret column";
    readme.erase(it);
  }
  for (const auto& [env, row] : readme) {
    ADD_FAILURE() << env << " is in README.md but roomcastd has no such setting";
  }
}

TEST(SettingsTest, NamesAreUniqueAndEveryDefaultParses) {
  std::set<std::string_view> flags;
  std::set<std::string_view> envs;
  Config config;
  for (const Setting& setting : Settings()) {
    EXPECT_TRUE(flags.insert(setting.flag).second) << setting.flag;
    EXPECT_TRUE(envs.insert(setting.env).second) << setting.env;
    EXPECT_FALSE(setting.help.empty()) << setting.flag;
    absl::Status status = setting.apply(setting.fallback, config);
    EXPECT_TRUE(status.ok()) << setting.flag << ": " << status;
  }
}

TEST(SettingsTest, CredentialsAreMarkedSecret) {
  std::set<std::string_view> secrets;
  for (const Setting& setting : Settings()) {
    if (setting.secret == Secret::kYes) secrets.insert(setting.env);
  }
  EXPECT_EQ(secrets, (std::set<std::string_view>{
                         "DATABASE_URL", "INTERNAL_API_KEY", "JWT_SECRET", "NEXTAUTH_SECRET",
                         "REDIS_URL", "ROOMCAST_ADMIN_PASSWORD_HASH", "ROOMCAST_WEBHOOK_SECRET"}));
}

TEST(SettingsTest, HelpNamesEveryFlagAndVariable) {
  const std::string help = SettingsHelp();
  for (const Setting& setting : Settings()) {
    EXPECT_THAT(help, ::testing::HasSubstr("--" + std::string(setting.flag) + " (" +
                                           std::string(setting.env) + ")"));
  }
  EXPECT_THAT(help, ::testing::HasSubstr("HOSTNAME"));
}

}  // namespace
}  // namespace roomcast::app
