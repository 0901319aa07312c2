#include "server/auth/admin_login.h"

#include <crypt.h>
#include <openssl/crypto.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "server/base/ids.h"
#include "server/base/string_view.h"

namespace roomcast::auth {
namespace {

bool IsBcryptPrefix(std::string_view hash) {
  return hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$");
}

}  // namespace

absl::Status CheckBcryptHash(std::string_view hash) {
  // $2b$NN$ then 53 characters of salt and hash.
  if (!IsBcryptPrefix(hash) || hash.size() != 60 || hash[6] != '$') {
    return absl::InvalidArgumentError("not a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)");
  }
  // libcrypt checks the cost and the salt's alphabet.
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_r("", std::string(hash).c_str(), data.get());
  if (out == nullptr || out[0] == '*') {
    return absl::InvalidArgumentError("a bcrypt hash libcrypt does not accept");
  }
  return absl::OkStatus();
}

bool BcryptMatches(std::string_view password, const std::string& hash) {
  if (!IsBcryptPrefix(hash) || password.find('\0') != std::string_view::npos) {
    return false;
  }
  auto data = std::make_unique<crypt_data>();  // About 32 KiB: not on the stack.
  const char* out = crypt_r(std::string(password).c_str(), hash.c_str(), data.get());
  if (out == nullptr) {
    return false;
  }
  const std::string_view computed(out);
  return computed.size() == hash.size() &&
         CRYPTO_memcmp(computed.data(), hash.data(), hash.size()) == 0;
}

std::string AdminSessions::Create(Clock::time_point now) {
  std::string id = base::NewId();
  absl::MutexLock lock(&mutex_);
  DropExpired(now);
  if (expiry_.size() >= capacity_ && !expiry_.empty()) {
    auto oldest = expiry_.begin();
    for (auto it = expiry_.begin(); it != expiry_.end(); ++it) {
      if (it->second < oldest->second) {
        oldest = it;
      }
    }
    expiry_.erase(oldest);
  }
  expiry_[id] = now + ttl_;
  return id;
}

bool AdminSessions::Valid(std::string_view id, Clock::time_point now) {
  absl::MutexLock lock(&mutex_);
  auto it = expiry_.find(ToAbsl(id));
  if (it == expiry_.end()) {
    return false;
  }
  if (it->second <= now) {
    expiry_.erase(it);
    return false;
  }
  return true;
}

size_t AdminSessions::size() const {
  absl::MutexLock lock(&mutex_);
  return expiry_.size();
}

void AdminSessions::DropExpired(Clock::time_point now) {
  absl::erase_if(expiry_, [now](const auto& entry) { return entry.second <= now; });
}

AdminLogin::AdminLogin(Options options)
    : options_(std::move(options)), sessions_(options_.max_sessions, options_.session_ttl) {}

bool AdminLogin::AllowAttempt(std::string_view address, Clock::time_point now) {
  absl::MutexLock lock(&mutex_);
  auto it = attempts_.find(ToAbsl(address));
  if (it == attempts_.end()) {
    if (attempts_.size() >= options_.max_tracked_addresses) {
      // Full: forget the addresses whose budget has refilled.
      absl::erase_if(attempts_, [now](const auto& entry) { return entry.second.full(now); });
      if (attempts_.size() >= options_.max_tracked_addresses) {
        return false;  // Many addresses at once: refuse until some refill.
      }
    }
    it = attempts_
             .emplace(std::string(address), base::TokenBucket(options_.attempts_per_minute / 60.0,
                                                              options_.attempts_per_minute, now))
             .first;
  }
  return it->second.Take(now);
}

absl::StatusOr<std::string> AdminLogin::Login(std::string_view address, std::string_view username,
                                              std::string_view password,
                                              std::string_view session_id, Clock::time_point now) {
  if (!session_id.empty() && sessions_.Valid(session_id, now)) {
    return std::string();
  }
  if (username.empty() && password.empty()) {
    return absl::UnauthenticatedError("invalid credentials");
  }
  if (!AllowAttempt(address, now)) {
    return absl::ResourceExhaustedError("too many login attempts, retry in a minute");
  }
  // Both checks run whatever the first says, so timing tells nothing about the username.
  const bool user_ok =
      username.size() == options_.username.size() &&
      CRYPTO_memcmp(username.data(), options_.username.data(), username.size()) == 0;
  const bool password_ok = BcryptMatches(password, options_.password_hash);
  if (!user_ok || !password_ok) {
    return absl::UnauthenticatedError("invalid credentials");
  }
  return sessions_.Create(now);
}

}  // namespace roomcast::auth
