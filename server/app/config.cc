#include "server/app/config.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "server/app/file_budget.h"
#include "server/app/settings.h"
#include "server/base/string_view.h"
#include "server/net/http_client.h"
#include "server/net/tls_credentials.h"

#ifndef ROOMCAST_VERSION
#define ROOMCAST_VERSION "dev"
#endif

namespace roomcast::app {
namespace {

const Setting* FindSetting(std::string_view flag) {
  for (const Setting& setting : Settings()) {
    if (setting.flag == flag) {
      return &setting;
    }
  }
  return nullptr;
}

// A value given for a setting, and where: errors name what the user typed.
struct Given {
  const Setting* setting;
  std::string value;
  bool from_flag;
};

absl::Status Apply(const Given& given, Config& config) {
  absl::Status status = given.setting->apply(given.value, config);
  if (status.ok()) {
    return status;
  }
  const Setting& setting = *given.setting;
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid value '", given.value, "' for ",
      given.from_flag ? SettingName(setting)
                      : absl::StrCat(ToAbsl(setting.env), " (--", ToAbsl(setting.flag), ")"),
      ": ", status.message()));
}

// `--flag=value`, `--flag value`, `--switch`, `--noswitch`; one dash works too.
absl::StatusOr<std::vector<Given>> ParseArguments(int argc, char** argv) {
  std::vector<Given> given;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h" || arg == "--helpfull") {
      std::fputs(SettingsHelp().c_str(), stdout);
      std::exit(0);
    }
    if (arg == "--version") {
      std::printf("roomcastd %s\n", ROOMCAST_VERSION);
      std::exit(0);
    }
    if (!arg.starts_with("-")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", ToAbsl(arg), "'"));
    }
    arg.remove_prefix(arg.starts_with("--") ? 2 : 1);
    const size_t equals = arg.find('=');
    const std::string_view name = arg.substr(0, equals);
    const Setting* setting = FindSetting(name);
    std::string value;
    if (setting == nullptr && name.starts_with("no") && equals == std::string_view::npos) {
      setting = FindSetting(name.substr(2));
      if (setting != nullptr && setting->is_switch) {
        given.push_back(Given{setting, "false", true});
        continue;
      }
      setting = nullptr;
    }
    if (setting == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", ToAbsl(name), " (--help lists them)"));
    }
    if (equals != std::string_view::npos) {
      value = std::string(arg.substr(equals + 1));
    } else if (setting->is_switch) {
      value = "true";
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("missing value for ", SettingName(*setting)));
    }
    given.push_back(Given{setting, std::move(value), true});
  }
  return given;
}

// What follows from the settings (the bind address, shards per core), and
// the checks across them (production requirements, a usable key).
// The TLS files go together and must hold a usable set, or roomcastd does
// not start; the error names the setting of the file at fault.
absl::Status CheckTls(const Config& config) {
  const std::string cert = SettingName(*FindSetting("tls_cert_file"));
  const std::string key = SettingName(*FindSetting("tls_key_file"));
  const std::string client_ca = SettingName(*FindSetting("tls_client_ca_file"));
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(config.tls_cert_file.empty() ? key : cert, " needs ",
                     config.tls_cert_file.empty() ? cert : key, " too (TLS takes both)"));
  }
  if (config.tls_cert_file.empty()) {
    if (!config.tls_client_ca_file.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(client_ca, " needs ", cert, " and ", key));
    }
    return absl::OkStatus();
  }
  const net::TlsFiles files{config.tls_cert_file, config.tls_key_file, config.tls_client_ca_file};
  net::TlsPem pem;
  net::TlsFileError error;
  if (!net::ReadTlsFiles(files, pem, error) || !net::CheckTlsPem(pem, error)) {
    const std::string& name = error.file == net::TlsFile::kCert  ? cert
                              : error.file == net::TlsFile::kKey ? key
                                                                 : client_ca;
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", error.message));
  }
  return absl::OkStatus();
}

absl::Status ResolveConfig(Config& config) {
  if (config.host.empty()) {
    // HOSTNAME is the old deployment's bind address; in containers it is the
    // container's name, which is not an address and is skipped.
    const char* hostname = std::getenv("HOSTNAME");
    config.host = hostname != nullptr && IsIpLiteral(hostname) ? hostname : "::";
  }
  if (config.shards == 0) {
    config.shards = std::max(1u, std::thread::hardware_concurrency());
  }
  if (config.namespaces.empty()) {
    config.namespaces.emplace_back("/");
  }
  if (config.event_log.empty()) {
    config.event_log = config.redis_url.empty() ? "memory" : "redis";
  }
  if (config.event_log == "postgres" && config.database_url.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(SettingName(*FindSetting("event_log")), "=postgres needs DATABASE_URL"));
  }
  if (config.event_log == "redis" && config.redis_url.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(SettingName(*FindSetting("event_log")), "=redis needs REDIS_URL"));
  }
  if (config.event_log == "memory" && !config.redis_url.empty()) {
    // Each node would number its own events: offsets would not be the cluster's.
    return absl::FailedPreconditionError(absl::StrCat(
        SettingName(*FindSetting("event_log")),
        "=memory cannot number a cluster's events: use redis or postgres with REDIS_URL"));
  }
  std::vector<auth::NamedKey> keys = auth::KeysFromList(config.internal_api_key);
  if (config.webhook_secret.empty() && !keys.empty()) {
    config.webhook_secret = keys.front().key;
  }
  keys.insert(keys.end(), config.api_keys.begin(), config.api_keys.end());
  if (absl::Status unique = auth::CheckUniqueKeys(keys); !unique.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("INTERNAL_API_KEY and ",
                                                   SettingName(*FindSetting("api_keys_file")), ": ",
                                                   unique.message()));
  }
  if (!config.client_events_webhook.empty() && config.webhook_secret.empty()) {
    // An unsigned webhook would take events from anyone who finds its URL.
    return absl::FailedPreconditionError(
        absl::StrCat(SettingName(*FindSetting("client_events_webhook")), " needs ",
                     SettingName(*FindSetting("webhook_secret")), " or INTERNAL_API_KEY"));
  }
  config.production = config.node_env == "production";
  if (config.production && keys.empty() && !config.insecure) {
    return absl::FailedPreconditionError(
        "NODE_ENV=production requires INTERNAL_API_KEY or ROOMCAST_API_KEYS_FILE (or --insecure "
        "to run without one)");
  }
  if (config.production && !config.auth.enabled() && !config.insecure) {
    return absl::FailedPreconditionError(
        "NODE_ENV=production requires browser authentication: JWT_SECRET, "
        "ROOMCAST_JWT_PUBLIC_KEY_FILE, ROOMCAST_JWKS_URL or NEXTAUTH_SECRET (or --insecure for "
        "anonymous browsers)");
  }
  if (config.admin_username.empty() != config.admin_password_hash.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the Admin UI needs both ", SettingName(*FindSetting("admin_username")),
                     " and ", SettingName(*FindSetting("admin_password_hash"))));
  }
  if (!config.admin_username.empty() &&
      std::find(config.namespaces.begin(), config.namespaces.end(), "/admin") !=
          config.namespaces.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the Admin UI's namespace /admin cannot also be in ",
                     SettingName(*FindSetting("namespaces"))));
  }
  if (absl::Status tls = CheckTls(config); !tls.ok()) {
    return tls;
  }
  // The limits set or not, the process may hold as many files as it is allowed.
  const FileBudget budget = FileBudget::For(RaiseOpenFileLimit(), !config.tls_cert_file.empty());
  if (config.max_connections == 0) {
    config.max_connections = budget.connections;
  }
  config.connection_budget = std::max(budget.all, config.max_connections);
  if (!config.auth.jwks.url.empty()) {
    if (absl::Status url = net::HttpTarget::Parse(config.auth.jwks.url).status(); !url.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(SettingName(*FindSetting("jwks_url")), ": ", url.message()));
    }
  }
  if (config.auth.enabled()) {
    if (absl::StatusOr<std::unique_ptr<auth::Authenticator>> check =
            auth::Authenticator::Create(config.auth);
        !check.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          check.status().message(), " (", SettingName(*FindSetting("jwt_public_key_file")), ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Config> LoadConfig(int argc, char** argv) {
  absl::StatusOr<std::vector<Given>> flags = ParseArguments(argc, argv);
  if (!flags.ok()) {
    return flags.status();
  }
  Config config = DefaultConfig();
  // The environment first, so that the flags override it; a variable is not
  // even read for a flag given on the command line.
  for (const Setting& setting : Settings()) {
    const char* value = std::getenv(std::string(setting.env).c_str());
    const bool overridden = std::any_of(
        flags->begin(), flags->end(), [&](const Given& flag) { return flag.setting == &setting; });
    if (value == nullptr || *value == '\0' || overridden) {
      continue;
    }
    if (absl::Status status = Apply(Given{&setting, value, false}, config); !status.ok()) {
      return status;
    }
  }
  for (const Given& flag : *flags) {
    if (absl::Status status = Apply(flag, config); !status.ok()) {
      return status;
    }
  }
  if (absl::Status status = ResolveConfig(config); !status.ok()) {
    return status;
  }
  return config;
}

}  // namespace roomcast::app
