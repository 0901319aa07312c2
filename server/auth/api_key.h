#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace roomcast::auth {

// One internal API key and the name logs and metrics know it by (the key
// itself is never shown).
struct NamedKey {
  std::string name;
  std::string key;
};

// INTERNAL_API_KEY's comma-separated keys, named env-1, env-2, ... in order.
std::vector<NamedKey> KeysFromList(std::string_view list);

// A keys file: one `name:key` per line (the key is what follows the first
// colon); `#` starts a comment line; blank lines are skipped. Names are
// [A-Za-z0-9._-], at most 64; keys have no whitespace. A bad line, a
// repeated name or key, or a file with no key is an error naming the line.
absl::StatusOr<std::vector<NamedKey>> ParseKeysFile(std::string_view text);

// Refuses keys whose names or values repeat (INTERNAL_API_KEY's and the
// file's together).
absl::Status CheckUniqueKeys(const std::vector<NamedKey>& keys);

// The internal API keys services present on control calls, as
// `authorization: Bearer <key>` or `x-api-key: <key>`. Several at once, for
// rotation and per-service keys; replaced whole (a reloaded file) from any
// thread while calls are checked.
class ApiKeys {
 public:
  // No keys means none is required (and Replace is then not used).
  explicit ApiKeys(std::vector<NamedKey> keys);

  bool required() const { return required_; }
  // Keys with repeated names or values are refused, as ParseKeysFile does.
  absl::Status Replace(std::vector<NamedKey> keys);
  size_t size() const;

  // The name of the key the call carries, "" when no key is required,
  // nullopt when it carries none of them. Every key is compared, each in
  // constant time over digests, so timing reveals neither a key nor which.
  std::optional<std::string> Identify(std::optional<std::string_view> authorization,
                                      std::optional<std::string_view> x_api_key) const;

 private:
  struct Entry {
    std::string name;
    std::string digest;  // SHA-256 of the key.
  };
  using Entries = std::vector<Entry>;

  std::shared_ptr<const Entries> Current() const;

  bool required_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Entries> entries_;
};

}  // namespace roomcast::auth
