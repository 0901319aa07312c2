#include "server/auth/jwt.h"

#include <cjose/cjose.h>
#include <openssl/evp.h>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/auth/jwk_set.h"

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

// Tokens verified with keys from a JWKS: chosen by kid, of the algorithm's type.
class JwtJwksTest : public ::testing::Test {
 protected:
  JwtJwksTest() {
    cjose_err err{};
    static const uint8_t kExponent[] = {1, 0, 1};
    rsa_.reset(cjose_jwk_create_RSA_random(2048, kExponent, sizeof(kExponent), &err));
    ec_.reset(cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err));
    JwksOptions options;
    options.url = "http://127.0.0.1/jwks";
    keys_ = std::make_shared<JwksKeys>(options);
    keys_->SetRefetch([this] { ++refetches_; });
    JwtConfig config;
    config.leeway = seconds(0);
    verifier_ = *JwtVerifier::Create(config, keys_);
  }
  std::string Public(const cjose_jwk_t* key, const std::string& kid) {
    cjose_err err{};
    char* json = cjose_jwk_to_json(key, false, &err);
    std::string text(json);
    cjose_get_dealloc()(json);
    text.pop_back();
    return absl::StrCat(text, R"(,"kid":")", kid, "\"}");
  }
  void Serve(const std::string& jwks) { keys_->Replace(*JwkSet::Parse(jwks)); }
  void ServeBoth() {
    Serve(
        absl::StrCat(R"({"keys":[)", Public(rsa_.get(), "r1"), ",", Public(ec_.get(), "e1"), "]}"));
  }
  static std::string Sign(const cjose_jwk_t* key, const std::string& alg, const std::string& kid,
                          const std::string& claims) {
    cjose_err err{};
    cjose_header_t* header = cjose_header_new(&err);
    cjose_header_set(header, CJOSE_HDR_ALG, alg.c_str(), &err);
    if (!kid.empty()) {
      cjose_header_set(header, CJOSE_HDR_KID, kid.c_str(), &err);
    }
    JwsHandle jws(cjose_jws_sign(key, header, reinterpret_cast<const uint8_t*>(claims.data()),
                                 claims.size(), &err));
    cjose_header_release(header);
    const char* compact = nullptr;
    cjose_jws_export(jws.get(), &compact, &err);
    return compact;
  }
  std::string Message(const std::string& token) {
    return std::string(verifier_->Verify(token, now_).status().message());
  }
  static std::string Claims(int64_t exp_offset) {
    return absl::StrCat(R"({"sub":"u1","exp":)", 1700000000 + exp_offset, "}");
  }

  system_clock::time_point now_ = system_clock::time_point(seconds(1700000000));
  JwkHandle rsa_;
  JwkHandle ec_;
  std::shared_ptr<JwksKeys> keys_;
  int refetches_ = 0;
  std::unique_ptr<JwtVerifier> verifier_;
};

TEST_F(JwtJwksTest, RefusesEveryTokenUntilKeysArrive) {
  keys_->FetchFailed(absl::UnavailableError("Connection refused"));
  EXPECT_EQ(Message(Sign(rsa_.get(), "RS256", "r1", Claims(60))),
            "no signing keys yet: the JWKS has not been fetched (Connection refused)");
  ServeBoth();
  EXPECT_TRUE(verifier_->Verify(Sign(rsa_.get(), "RS256", "r1", Claims(60)), now_).ok());
}

TEST_F(JwtJwksTest, VerifiesWithTheKeyTheKidNames) {
  ServeBoth();
  for (const char* alg : {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}) {
    absl::StatusOr<Identity> identity =
        verifier_->Verify(Sign(rsa_.get(), alg, "r1", Claims(60)), now_);
    ASSERT_TRUE(identity.ok()) << alg << ": " << identity.status();
    EXPECT_EQ(identity->user_id, "u1");
  }
  EXPECT_TRUE(verifier_->Verify(Sign(ec_.get(), "ES256", "e1", Claims(60)), now_).ok());
  // The EC key's kid on an RSA-signed token: the key does not fit the algorithm.
  EXPECT_EQ(Message(Sign(rsa_.get(), "RS256", "e1", Claims(60))),
            "algorithm RS256 does not fit key e1");
  EXPECT_EQ(Message(Sign(ec_.get(), "ES384", "e1", Claims(60))),
            "algorithm ES384 does not fit key e1");
  EXPECT_EQ(refetches_, 0);
}

TEST_F(JwtJwksTest, AnUnknownKidIsRefusedAndAsksForARefetch) {
  ServeBoth();
  EXPECT_EQ(Message(Sign(rsa_.get(), "RS256", "r2", Claims(60))), "unknown key id r2");
  EXPECT_EQ(refetches_, 1);
  EXPECT_EQ(Message(Sign(rsa_.get(), "RS256", "r2", Claims(60))), "unknown key id r2");
  EXPECT_EQ(refetches_, 1);  // Once per min_refresh.
  EXPECT_EQ(Message(Sign(rsa_.get(), "RS256", "", Claims(60))),
            "token has no kid: JWKS keys are chosen by kid");
}

TEST_F(JwtJwksTest, ChecksSignatureAlgorithmAndClaims) {
  ServeBoth();
  const std::string good = Sign(ec_.get(), "ES256", "e1", Claims(60));
  std::string tampered = good;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Message(tampered), "bad signature");
  // Another key signed it, under a kid the set holds.
  cjose_err err{};
  JwkHandle other(cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err));
  EXPECT_EQ(Message(Sign(other.get(), "ES256", "e1", Claims(60))), "bad signature");
  EXPECT_EQ(Message(Sign(ec_.get(), "ES256", "e1", Claims(-1))), "token expired");
  // HS keys come only from JWT_SECRET: none here, whatever the kid.
  EXPECT_EQ(Message(Hs256(Claims(60), "s3cret", R"({"alg":"HS256","kid":"r1"})")),
            "unsupported algorithm HS256");
  EXPECT_EQ(Message(Hs256(Claims(60), "s3cret", R"({"alg":"none","kid":"r1"})")),
            "unsupported algorithm none");
}

// cjose's base64url decoder aborts on a '=' after 4n+1 characters: such
// tokens never reach it.
TEST_F(JwtJwksTest, PaddingThatWouldAbortCjoseIsMalformed) {
  ServeBoth();
  for (const char* token : {"a=.b.c", "eyJhbGciOiJIUzI1NiJ9.a===.c", "a.b.a=", "a b.c.d"}) {
    EXPECT_EQ(Message(token), "malformed token: not a JWS (base64url parts, a JSON header)")
        << token;
  }
}

TEST_F(JwtJwksTest, ASecretAndAJwksServeTogether) {
  ServeBoth();
  JwtConfig config;
  config.secret = "s3cret";
  config.leeway = seconds(0);
  std::unique_ptr<JwtVerifier> both = *JwtVerifier::Create(config, keys_);
  EXPECT_TRUE(both->Verify(Hs256(Claims(60), "s3cret"), now_).ok());
  EXPECT_TRUE(both->Verify(Sign(rsa_.get(), "RS256", "r1", Claims(60)), now_).ok());
  // An HS256 token with a JWKS kid is checked against the secret, never the key.
  EXPECT_EQ(
      std::string(both->Verify(Hs256(Claims(60), "other", R"({"alg":"HS256","kid":"r1"})"), now_)
                      .status()
                      .message()),
      "bad signature");
}

}  // namespace
}  // namespace roomcast::auth
