#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "server/app/config.h"

namespace roomcast::app {

// Whether a setting's value must be kept out of logs, listings and plain
// config (it belongs in a secret store, e.g. a Kubernetes Secret).
enum class Secret { kNo, kYes };

// One setting of roomcastd, declared once: the flag, the environment
// variable, the default, the help and how a value is checked and stored.
// Flags, the environment, --help and the README's table all come from the
// table of these (settings.cc).
struct Setting {
  std::string_view flag;  // --flag
  std::string_view env;   // its environment variable
  // The default as text, parsed like any value; "" = unset.
  std::string_view fallback;
  std::string_view help;
  Secret secret = Secret::kNo;
  bool is_switch = false;  // A boolean: `--flag` alone means true.
  // Checks `value` and stores it in `config`; the error says why, without
  // naming the setting (the caller does).
  std::function<absl::Status(std::string_view value, Config& config)> apply;
};

// Every setting, in the order --help and the README list them.
const std::vector<Setting>& Settings();

// The Config of the defaults alone, for embedding the server (tests).
Config DefaultConfig();

// "--flag (ENV)", how errors name a setting.
std::string SettingName(const Setting& setting);

// Whether `text` is an IPv4 or IPv6 address (what --host and the proxies take).
bool IsIpLiteral(std::string_view text);

// The --help text: every setting with its variable, default and help.
std::string SettingsHelp();

}  // namespace roomcast::app
