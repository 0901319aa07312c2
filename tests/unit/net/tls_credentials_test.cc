#include "server/net/tls_credentials.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace roomcast::net {
namespace {

namespace fs = std::filesystem;

struct Pair {
  std::string cert;
  std::string key;
};

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string text(data, static_cast<size_t>(size));
  BIO_free(bio);
  return text;
}

// A self-signed P-256 certificate and its key, as PEM.
Pair MakePair(long serial) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x509 = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x509), serial);
  X509_gmtime_adj(X509_getm_notBefore(x509), 0);
  X509_gmtime_adj(X509_getm_notAfter(x509), 3600);
  X509_set_pubkey(x509, key);
  X509_NAME* name = X509_get_subject_name(x509);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x509, name);
  X509_sign(x509, key, EVP_sha256());
  BIO* cert = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert, x509);
  BIO* pkey = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(pkey, key, nullptr, nullptr, 0, nullptr, nullptr);
  X509_free(x509);
  EVP_PKEY_free(key);
  return {BioText(cert), BioText(pkey)};
}

class TlsReloadCheckTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string dir = (fs::temp_directory_path() / "roomcast-tls-unit-XXXXXX").string();
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    dir_ = dir;
    files_ = TlsFiles{(dir_ / "cert.pem").string(), (dir_ / "key.pem").string(), ""};
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Put(const std::string& cert, const std::string& key) {
    std::ofstream(files_.cert, std::ios::trunc) << cert;
    std::ofstream(files_.key, std::ios::trunc) << key;
  }
  TlsPem PemOf(const Pair& pair) { return TlsPem{pair.cert, pair.key, ""}; }

  fs::path dir_;
  TlsFiles files_;
};

TEST_F(TlsReloadCheckTest, UnchangedFilesDoNothing) {
  const Pair one = MakePair(1);
  Put(one.cert, one.key);
  TlsReloadCheck check(files_, PemOf(one));
  EXPECT_EQ(check.Check(), TlsReloadCheck::Outcome::kUnchanged);
  EXPECT_EQ(check.context(), nullptr);
}

TEST_F(TlsReloadCheckTest, ANewGoodPairIsTaken) {
  const Pair one = MakePair(1);
  const Pair two = MakePair(2);
  Put(one.cert, one.key);
  TlsReloadCheck check(files_, PemOf(one));
  Put(two.cert, two.key);
  EXPECT_EQ(check.Check(), TlsReloadCheck::Outcome::kReloaded);
  EXPECT_EQ(check.current(), PemOf(two));
  EXPECT_NE(check.context(), nullptr);
  EXPECT_EQ(check.Check(), TlsReloadCheck::Outcome::kUnchanged);
}

TEST_F(TlsReloadCheckTest, AMismatchedPairKeepsTheOldOneAndFailsOnce) {
  const Pair one = MakePair(1);
  const Pair two = MakePair(2);
  Put(one.cert, one.key);
  TlsReloadCheck check(files_, PemOf(one));
  Put(one.cert, two.key);
  EXPECT_EQ(check.Check(), TlsReloadCheck::Outcome::kFailed);
  EXPECT_EQ(check.error().file, TlsFile::kKey);
  EXPECT_EQ(check.error().message, "the key is not the certificate's");
  EXPECT_EQ(check.current(), PemOf(one));
  // The same bad contents are not counted again at every check.
  EXPECT_EQ(check.Check(), TlsReloadCheck::Outcome::kUnchanged);
  Put(two.cert, two.key);
  EXPECT_EQ(check.Check(), TlsReloadCheck::Outcome::kReloaded);
  EXPECT_EQ(check.current(), PemOf(two));
}

TEST_F(TlsReloadCheckTest, AnUnreadableFileKeepsTheOldOne) {
  const Pair one = MakePair(1);
  Put(one.cert, one.key);
  TlsReloadCheck check(files_, PemOf(one));
  fs::remove(files_.cert);
  EXPECT_EQ(check.Check(), TlsReloadCheck::Outcome::kFailed);
  EXPECT_EQ(check.error().file, TlsFile::kCert);
  EXPECT_EQ(check.Check(), TlsReloadCheck::Outcome::kUnchanged);
  Put(one.cert, one.key);
  EXPECT_EQ(check.Check(), TlsReloadCheck::Outcome::kUnchanged);  // Back to the pair in use.
}

TEST(CheckTlsPemTest, NamesTheFileAtFault) {
  const Pair one = MakePair(1);
  TlsFileError error;
  EXPECT_TRUE(CheckTlsPem(TlsPem{one.cert, one.key, one.cert}, error));
  EXPECT_FALSE(CheckTlsPem(TlsPem{"junk", one.key, ""}, error));
  EXPECT_EQ(error.file, TlsFile::kCert);
  EXPECT_FALSE(CheckTlsPem(TlsPem{one.cert, "junk", ""}, error));
  EXPECT_EQ(error.file, TlsFile::kKey);
  EXPECT_FALSE(CheckTlsPem(TlsPem{one.cert, one.key, "junk"}, error));
  EXPECT_EQ(error.file, TlsFile::kClientCa);
}

TEST(MakeServerContextTest, RefusesTlsBelow12) {
  const Pair one = MakePair(1);
  auto context = MakeServerContext(TlsPem{one.cert, one.key, ""});
  ASSERT_TRUE(context.ok()) << context.status();
  EXPECT_EQ(SSL_CTX_get_min_proto_version((*context)->native_handle()), TLS1_2_VERSION);
}

}  // namespace
}  // namespace roomcast::net
