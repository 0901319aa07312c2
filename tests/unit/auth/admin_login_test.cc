#include "server/auth/admin_login.h"

#include <gtest/gtest.h>

namespace roomcast::auth {
namespace {

// bcryptjs.hashSync("s3cret", 4), as the Node admin-ui's own users make them
// ($2a$), and the same password with a $2b$ prefix.
constexpr char kHash2a[] = "$2a$04$nE4O1LsePeISnWaJjbwvk.GYiaF.ndtnuZfjK1vPKWg/slg8YdaY.";
constexpr char kHash2b[] = "$2b$04$YzL9s4O1N3sgxBaajojIa.WtlnJKFp7v5CfMu0UX15wh9AC5v7cQG";

using Clock = std::chrono::steady_clock;

TEST(BcryptTest, MatchesTheRightPasswordOnly) {
  EXPECT_TRUE(BcryptMatches("s3cret", kHash2a));
  EXPECT_TRUE(BcryptMatches("s3cret", kHash2b));
  EXPECT_FALSE(BcryptMatches("s3cret!", kHash2a));
  EXPECT_FALSE(BcryptMatches("", kHash2b));
  EXPECT_FALSE(BcryptMatches(std::string_view("s3cret\0x", 8), kHash2a));
}

TEST(BcryptTest, RefusesOtherSchemesAndBrokenHashes) {
  EXPECT_TRUE(CheckBcryptHash(kHash2a).ok());
  EXPECT_TRUE(CheckBcryptHash(kHash2b).ok());
  // SHA-512 crypt: libcrypt knows it, the Admin UI's settings do not.
  EXPECT_FALSE(BcryptMatches("s3cret", "$6$salt$abc"));
  EXPECT_FALSE(CheckBcryptHash("$6$salt$abc").ok());
  EXPECT_FALSE(CheckBcryptHash("s3cret").ok());
  EXPECT_FALSE(CheckBcryptHash("$2b$04$short").ok());
  std::string bad_cost = kHash2b;
  bad_cost[4] = '9';
  bad_cost[5] = '9';
  EXPECT_FALSE(CheckBcryptHash(bad_cost).ok());
  EXPECT_FALSE(BcryptMatches("s3cret", bad_cost));
}

TEST(AdminSessionsTest, ExpireAndStayBounded) {
  const Clock::time_point t0 = Clock::now();
  AdminSessions sessions(2, std::chrono::minutes(10));
  const std::string a = sessions.Create(t0);
  const std::string b = sessions.Create(t0 + std::chrono::seconds(1));
  EXPECT_NE(a, b);
  EXPECT_TRUE(sessions.Valid(a, t0 + std::chrono::minutes(1)));
  EXPECT_FALSE(sessions.Valid("nope", t0));
  // A third pushes out the oldest.
  const std::string c = sessions.Create(t0 + std::chrono::seconds(2));
  EXPECT_EQ(sessions.size(), 2u);
  EXPECT_FALSE(sessions.Valid(a, t0 + std::chrono::seconds(3)));
  EXPECT_TRUE(sessions.Valid(b, t0 + std::chrono::seconds(3)));
  EXPECT_TRUE(sessions.Valid(c, t0 + std::chrono::seconds(3)));
  EXPECT_FALSE(sessions.Valid(c, t0 + std::chrono::minutes(11)));
}

AdminLogin::Options LoginOptions() {
  AdminLogin::Options options;
  options.username = "admin";
  options.password_hash = kHash2b;
  options.attempts_per_minute = 3;
  return options;
}

TEST(AdminLoginTest, CredentialsMakeASessionThatLogsInAgain) {
  AdminLogin login(LoginOptions());
  const Clock::time_point now = Clock::now();
  absl::StatusOr<std::string> session = login.Login("10.0.0.1", "admin", "s3cret", "", now);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_FALSE(session->empty());
  // The session id alone is enough, and makes no new session.
  absl::StatusOr<std::string> again = login.Login("10.0.0.1", "", "", *session, now);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  // An unknown session id falls back to the credentials.
  EXPECT_EQ(login.Login("10.0.0.1", "", "", "forged", now).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(AdminLoginTest, WrongCredentialsAreRefusedThenRateLimitedPerAddress) {
  AdminLogin login(LoginOptions());
  const Clock::time_point now = Clock::now();
  absl::StatusOr<std::string> wrong_user = login.Login("10.0.0.1", "root", "s3cret", "", now);
  EXPECT_EQ(wrong_user.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(wrong_user.status().message(), "invalid credentials");
  EXPECT_FALSE(login.Login("10.0.0.1", "admin", "guess", "", now).ok());
  EXPECT_FALSE(login.Login("10.0.0.1", "admin", "guess2", "", now).ok());
  // The budget (3) is spent: even the right password waits.
  absl::StatusOr<std::string> limited = login.Login("10.0.0.1", "admin", "s3cret", "", now);
  EXPECT_EQ(limited.status().code(), absl::StatusCode::kResourceExhausted);
  // Another address is not affected; a minute later this one may try again.
  EXPECT_TRUE(login.Login("10.0.0.2", "admin", "s3cret", "", now).ok());
  EXPECT_TRUE(login.Login("10.0.0.1", "admin", "s3cret", "", now + std::chrono::seconds(21)).ok());
}

}  // namespace
}  // namespace roomcast::auth
