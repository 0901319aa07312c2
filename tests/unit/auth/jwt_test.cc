#include "server/auth/jwt.h"

#include <openssl/evp.h>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace roomcast::auth {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

std::string B64(std::string_view bytes) {
  std::string out;
  absl::WebSafeBase64Escape(absl::string_view(bytes.data(), bytes.size()), &out);
  return out;
}

// An HS256 token over `claims`, signed with `secret`.
std::string Hs256(const std::string& claims, const std::string& secret,
                  const std::string& header = R"({"alg":"HS256","typ":"JWT"})") {
  const std::string input = absl::StrCat(B64(header), ".", B64(claims));
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t length = 0;
  EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
            reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, sizeof(mac),
            &length);
  return absl::StrCat(input, ".", B64(std::string_view(reinterpret_cast<char*>(mac), length)));
}

class JwtTest : public ::testing::Test {
 protected:
  JwtTest() {
    JwtConfig config;
    config.secret = "s3cret";
    config.leeway = seconds(30);
    verifier_ = *JwtVerifier::Create(config);
  }
  std::string Message(const std::string& token) {
    return std::string(verifier_->Verify(token, now_).status().message());
  }
  static std::string Claims(int64_t exp_offset) {
    return absl::StrCat(R"({"sub":"u1","exp":)", 1700000000 + exp_offset, "}");
  }

  system_clock::time_point now_ = system_clock::time_point(seconds(1700000000));
  std::unique_ptr<JwtVerifier> verifier_;
};

TEST_F(JwtTest, AcceptsAValidTokenAndNamesTheUser) {
  absl::StatusOr<Identity> identity = verifier_->Verify(Hs256(Claims(60), "s3cret"), now_);
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity->user_id, "u1");
}

TEST_F(JwtTest, SaysWhichCheckFailed) {
  EXPECT_EQ(Message(""), "missing token");
  EXPECT_EQ(Message(Hs256(Claims(-31), "s3cret")), "token expired");
  EXPECT_EQ(Message(Hs256(Claims(60), "other")), "bad signature");
  EXPECT_EQ(Message("a.b"), "malformed token: expected three dot-separated parts");
  EXPECT_EQ(Message(Hs256(R"({"sub":"u1","nbf":1700000031})", "s3cret")), "token not yet valid");
  EXPECT_EQ(Message(Hs256(Claims(60), "s3cret", R"({"alg":"none"})")),
            "unsupported algorithm none");
}

TEST_F(JwtTest, LeewayAllowsSmallClockSkew) {
  EXPECT_TRUE(verifier_->Verify(Hs256(Claims(-29), "s3cret"), now_).ok());
  EXPECT_TRUE(verifier_->Verify(Hs256(R"({"nbf":1700000029})", "s3cret"), now_).ok());
}

TEST(JwtClaimsTest, ChecksIssuerAndAudience) {
  JwtConfig config;
  config.issuer = "roomcast";
  config.audience = "browsers";
  const auto now = system_clock::now();
  auto claims = [](std::string json) { return boost::json::parse(json).as_object(); };
  EXPECT_TRUE(
      CheckClaims(claims(R"({"iss":"roomcast","aud":["x","browsers"]})"), config, now).ok());
  EXPECT_EQ(
      CheckClaims(claims(R"({"iss":"other","aud":"browsers"})"), config, now).status().message(),
      "wrong issuer");
  EXPECT_EQ(CheckClaims(claims(R"({"iss":"roomcast","aud":"x"})"), config, now).status().message(),
            "wrong audience");
}

TEST(JwtVerifierTest, NeedsASecretOrAValidPublicKey) {
  EXPECT_FALSE(JwtVerifier::Create(JwtConfig{}).ok());
  JwtConfig config;
  config.public_key_pem = "not a key";
  EXPECT_FALSE(JwtVerifier::Create(config).ok());
}

}  // namespace
}  // namespace roomcast::auth
