#include "server/auth/jwk_set.h"

#include <cjose/cjose.h>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "server/auth/cjose_handles.h"

namespace roomcast::auth {
namespace {

// A public JWK of `key` with `kid` (and extra members, e.g. ,"use":"enc").
std::string PublicJwk(const cjose_jwk_t* key, const std::string& kid,
                      const std::string& extra = "") {
  cjose_err err{};
  char* json = cjose_jwk_to_json(key, false, &err);
  std::string text(json);
  cjose_get_dealloc()(json);
  text.pop_back();  // The closing brace.
  return absl::StrCat(text, R"(,"kid":")", kid, "\"", extra, "}");
}

class JwkSetTest : public ::testing::Test {
 protected:
  JwkSetTest() {
    cjose_err err{};
    static const uint8_t kExponent[] = {1, 0, 1};
    rsa_.reset(cjose_jwk_create_RSA_random(2048, kExponent, sizeof(kExponent), &err));
    p256_.reset(cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err));
    p384_.reset(cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_384, &err));
  }
  std::string Document() {
    return absl::StrCat(R"({"keys":[)", PublicJwk(rsa_.get(), "rsa-1"), ",",
                        PublicJwk(p256_.get(), "ec-1"), ",",
                        PublicJwk(p384_.get(), "ec-384", R"(,"alg":"ES384","use":"sig")"), ",",
                        R"({"kty":"oct","kid":"hs","k":"c2VjcmV0"},)",
                        PublicJwk(rsa_.get(), "enc-1", R"(,"use":"enc")"), "]}");
  }

  JwkHandle rsa_;
  JwkHandle p256_;
  JwkHandle p384_;
};

TEST_F(JwkSetTest, KeepsSignatureKeysByKid) {
  absl::StatusOr<std::shared_ptr<const JwkSet>> set = JwkSet::Parse(Document());
  ASSERT_TRUE(set.ok()) << set.status();
  // The oct key (HS secrets come only from JWT_SECRET) and the encryption key are skipped.
  EXPECT_EQ((*set)->kids(), (std::vector<std::string>{"ec-1", "ec-384", "rsa-1"}));
  for (const char* alg : {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}) {
    absl::StatusOr<const cjose_jwk_t*> key = (*set)->Find("rsa-1", alg);
    ASSERT_TRUE(key.ok()) << alg << ": " << key.status();
    EXPECT_EQ(cjose_jwk_get_kty(*key, nullptr), CJOSE_JWK_KTY_RSA);
  }
  EXPECT_TRUE((*set)->Find("ec-1", "ES256").ok());
  EXPECT_TRUE((*set)->Find("ec-384", "ES384").ok());
}

TEST_F(JwkSetTest, AnUnknownKidIsNotFound) {
  std::shared_ptr<const JwkSet> set = *JwkSet::Parse(Document());
  absl::StatusOr<const cjose_jwk_t*> key = set->Find("rsa-2", "RS256");
  EXPECT_TRUE(absl::IsNotFound(key.status()));
  EXPECT_EQ(key.status().message(), "unknown key id rsa-2");
  EXPECT_TRUE(absl::IsNotFound(set->Find("hs", "HS256").status()));
}

TEST_F(JwkSetTest, AnAlgorithmMustFitTheKeysTypeCurveAndOwnAlg) {
  std::shared_ptr<const JwkSet> set = *JwkSet::Parse(Document());
  for (const auto& [kid, alg] : std::vector<std::pair<std::string, std::string>>{
           {"rsa-1", "ES256"},   // RSA key, EC algorithm.
           {"ec-1", "RS256"},    // EC key, RSA algorithm.
           {"ec-1", "ES384"},    // P-256 key, P-384 algorithm.
           {"ec-384", "ES512"},  // The key's own alg is ES384.
           {"rsa-1", "HS256"},   // Never HMAC with a public key.
           {"rsa-1", "none"},
           {"ec-1", ""}}) {
    absl::StatusOr<const cjose_jwk_t*> key = set->Find(kid, alg);
    EXPECT_TRUE(absl::IsPermissionDenied(key.status())) << kid << " " << alg << key.status();
    EXPECT_EQ(key.status().message(), absl::StrCat("algorithm ", alg, " does not fit key ", kid));
  }
}

TEST_F(JwkSetTest, OneKidMayNameAnRsaAndAnEcKey) {
  std::shared_ptr<const JwkSet> set = *JwkSet::Parse(absl::StrCat(
      R"({"keys":[)", PublicJwk(rsa_.get(), "both"), ",", PublicJwk(p256_.get(), "both"), "]}"));
  EXPECT_EQ(set->size(), 2u);
  absl::StatusOr<const cjose_jwk_t*> rsa = set->Find("both", "RS256");
  absl::StatusOr<const cjose_jwk_t*> ec = set->Find("both", "ES256");
  ASSERT_TRUE(rsa.ok() && ec.ok());
  EXPECT_EQ(cjose_jwk_get_kty(*rsa, nullptr), CJOSE_JWK_KTY_RSA);
  EXPECT_EQ(cjose_jwk_get_kty(*ec, nullptr), CJOSE_JWK_KTY_EC);
}

TEST_F(JwkSetTest, RefusesWhatIsNotAUsableJwks) {
  for (const std::string& document :
       {std::string("not json"), std::string("[]"), std::string(R"({"keys":{}})"),
        std::string(R"({"keys":[1]})"), std::string(R"({"keys":[]})"),
        std::string(R"({"keys":[{"kty":"oct","kid":"a","k":"c2VjcmV0"}]})"),
        absl::StrCat(R"({"keys":[)", PublicJwk(rsa_.get(), "x", R"(,"use":"enc")"), "]}"),
        std::string(R"({"keys":[{"kty":"RSA","kid":"bad","n":"!!","e":"AQAB"}]})")}) {
    EXPECT_FALSE(JwkSet::Parse(document).ok()) << document;
  }
  // A key without a kid cannot be chosen: skipped.
  std::string no_kid = PublicJwk(p256_.get(), "x");
  no_kid = absl::StrReplaceAll(no_kid, {{R"(,"kid":"x")", ""}});
  EXPECT_FALSE(JwkSet::Parse(absl::StrCat(R"({"keys":[)", no_kid, "]}")).ok());
}

TEST_F(JwkSetTest, OneBadKeyDoesNotSinkTheOthers) {
  absl::StatusOr<std::shared_ptr<const JwkSet>> set = JwkSet::Parse(
      absl::StrCat(R"({"keys":[{"kty":"EC","kid":"odd","crv":"P-192","x":"AA","y":"AA"},)",
                   PublicJwk(p256_.get(), "ec-1"), "]}"));
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ((*set)->kids(), std::vector<std::string>{"ec-1"});
}

TEST_F(JwkSetTest, SkipsKeysWhoseMembersAreNotBase64Url) {
  // "a=" would abort cjose's decoder; a private member is never imported.
  absl::StatusOr<std::shared_ptr<const JwkSet>> set =
      JwkSet::Parse(absl::StrCat(R"({"keys":[{"kty":"RSA","kid":"pad","n":"a=","e":"AQAB"},)",
                                 R"({"kty":"EC","kid":"pad2","crv":"P-256","x":"a===","y":"a="},)",
                                 PublicJwk(p256_.get(), "ec-1", R"(,"d":"a=")"), "]}"));
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ((*set)->kids(), std::vector<std::string>{"ec-1"});
}

TEST_F(JwkSetTest, HoldsABoundedNumberOfKeys) {
  std::string document = R"({"keys":[)";
  for (size_t i = 0; i <= JwkSet::kMaxKeys; ++i) {
    absl::StrAppend(&document, i == 0 ? "" : ",", PublicJwk(p256_.get(), absl::StrCat("k", i)));
  }
  document += "]}";
  EXPECT_FALSE(JwkSet::Parse(document).ok());
}

}  // namespace
}  // namespace roomcast::auth
