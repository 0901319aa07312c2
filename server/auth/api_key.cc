#include "server/auth/api_key.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/base/string_view.h"

namespace roomcast::auth {
namespace {

constexpr size_t kMaxNameLength = 64;

std::string Digest(std::string_view text) {
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
         reinterpret_cast<unsigned char*>(digest.data()));
  return digest;
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return false;
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

bool HasWhitespace(std::string_view text) {
  for (char c : text) {
    if (absl::ascii_isspace(c) || absl::ascii_iscntrl(c)) {
      return true;
    }
  }
  return false;
}

}  // namespace

// Repeated names would make logs ambiguous; a repeated key would be logged
// under whichever name came first.
absl::Status CheckUniqueKeys(const std::vector<NamedKey>& keys) {
  absl::flat_hash_set<std::string_view> names;
  absl::flat_hash_set<std::string_view> values;
  for (const NamedKey& key : keys) {
    if (!names.insert(key.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("the key name \"", key.name, "\" repeats"));
    }
    if (!values.insert(key.key).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("the key named \"", key.name, "\" repeats an earlier key"));
    }
  }
  return absl::OkStatus();
}

std::vector<NamedKey> KeysFromList(std::string_view list) {
  std::vector<NamedKey> keys;
  for (absl::string_view item : absl::StrSplit(ToAbsl(list), ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (!item.empty()) {
      keys.push_back(NamedKey{absl::StrCat("env-", keys.size() + 1), std::string(item)});
    }
  }
  return keys;
}

absl::StatusOr<std::vector<NamedKey>> ParseKeysFile(std::string_view text) {
  std::vector<NamedKey> keys;
  absl::flat_hash_set<std::string> names;
  absl::flat_hash_set<std::string> values;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(ToAbsl(text), '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    auto error = [number](std::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("line ", number, ": ", ToAbsl(why)));
    };
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) {
      return error("expected name:key");
    }
    const absl::string_view name = absl::StripAsciiWhitespace(line.substr(0, colon));
    const absl::string_view key = absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (!ValidName(ToStd(name))) {
      return error("the name must be 1-64 of A-Z a-z 0-9 . _ -");
    }
    if (key.empty()) {
      return error("the key is empty");
    }
    if (HasWhitespace(ToStd(key))) {
      return error("the key contains whitespace");
    }
    if (!names.emplace(name).second) {
      return error(absl::StrCat("the name \"", name, "\" repeats"));
    }
    if (!values.emplace(key).second) {
      return error("the key repeats an earlier line's");
    }
    keys.push_back(NamedKey{std::string(name), std::string(key)});
  }
  if (keys.empty()) {
    return absl::InvalidArgumentError("the file names no key");
  }
  return keys;
}

ApiKeys::ApiKeys(std::vector<NamedKey> keys)
    : required_(!keys.empty()), entries_(std::make_shared<Entries>()) {
  if (!keys.empty()) {
    Replace(std::move(keys)).IgnoreError();  // Checked by the caller (config) beforehand.
  }
}

absl::Status ApiKeys::Replace(std::vector<NamedKey> keys) {
  if (keys.empty()) {
    return absl::InvalidArgumentError("no key");
  }
  if (absl::Status unique = CheckUniqueKeys(keys); !unique.ok()) {
    return unique;
  }
  auto entries = std::make_shared<Entries>();
  for (NamedKey& key : keys) {
    entries->push_back(Entry{std::move(key.name), Digest(key.key)});
  }
  std::lock_guard lock(mutex_);
  entries_ = std::move(entries);
  return absl::OkStatus();
}

size_t ApiKeys::size() const { return Current()->size(); }

std::shared_ptr<const ApiKeys::Entries> ApiKeys::Current() const {
  std::lock_guard lock(mutex_);
  return entries_;
}

std::optional<std::string> ApiKeys::Identify(std::optional<std::string_view> authorization,
                                             std::optional<std::string_view> x_api_key) const {
  if (!required_) {
    return std::string();
  }
  constexpr std::string_view kBearer = "Bearer ";
  std::vector<std::string> candidates;
  if (authorization && authorization->starts_with(kBearer)) {
    candidates.push_back(Digest(authorization->substr(kBearer.size())));
  }
  if (x_api_key) {
    candidates.push_back(Digest(*x_api_key));
  }
  const std::shared_ptr<const Entries> entries = Current();
  const Entry* match = nullptr;
  for (const std::string& candidate : candidates) {
    for (const Entry& entry : *entries) {
      // No early exit: every key is compared whichever matches.
      const bool equal =
          CRYPTO_memcmp(candidate.data(), entry.digest.data(), candidate.size()) == 0;
      if (equal && match == nullptr) {
        match = &entry;
      }
    }
  }
  if (match == nullptr) {
    return std::nullopt;
  }
  return match->name;
}

}  // namespace roomcast::auth
