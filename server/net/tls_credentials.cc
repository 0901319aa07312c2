#include "server/net/tls_credentials.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace roomcast::net {
namespace {

namespace ssl = boost::asio::ssl;

// Mozilla's "intermediate" configuration (TLS 1.2 suites; TLS 1.3 keeps
// OpenSSL's defaults, which are the same list).
constexpr const char* kCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* x509) const { X509_free(x509); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

std::unique_ptr<BIO, BioFree> MemoryBio(const std::string& text) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

bool ReadFile(const std::string& path, std::string& text) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return false;
  }
  std::stringstream content;
  content << file.rdbuf();
  text = content.str();
  return !file.bad();
}

// The certificates in `pem`, in order; none if it holds no PEM certificate.
std::vector<X509Ptr> ParseCertificates(const std::string& pem) {
  std::vector<X509Ptr> certificates;
  auto bio = MemoryBio(pem);
  while (X509* x509 = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certificates.emplace_back(x509);
  }
  ERR_clear_error();  // The end of the input reads as an error.
  return certificates;
}

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) {
    return "";
  }
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return absl::StrCat(": ", text);
}

}  // namespace

bool ReadTlsFiles(const TlsFiles& files, TlsPem& pem, TlsFileError& error) {
  const std::pair<const std::string*, std::string*> reads[] = {
      {&files.cert, &pem.cert}, {&files.key, &pem.key}, {&files.client_ca, &pem.client_ca}};
  for (size_t i = 0; i < std::size(reads); ++i) {
    const std::string& path = *reads[i].first;
    reads[i].second->clear();
    if (!path.empty() && !ReadFile(path, *reads[i].second)) {
      error = {static_cast<TlsFile>(i), absl::StrCat("cannot read '", path, "'")};
      return false;
    }
  }
  return true;
}

bool CheckTlsPem(const TlsPem& pem, TlsFileError& error) {
  std::vector<X509Ptr> chain = ParseCertificates(pem.cert);
  if (chain.empty()) {
    error = {TlsFile::kCert, "no PEM certificate in the file"};
    return false;
  }
  auto bio = MemoryBio(pem.key);
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    error = {TlsFile::kKey, absl::StrCat("no PEM private key in the file", OpenSslError())};
    return false;
  }
  if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
    ERR_clear_error();
    error = {TlsFile::kKey, "the key is not the certificate's"};
    return false;
  }
  if (!pem.client_ca.empty() && ParseCertificates(pem.client_ca).empty()) {
    error = {TlsFile::kClientCa, "no PEM certificate in the file"};
    return false;
  }
  return true;
}

absl::StatusOr<std::shared_ptr<ssl::context>> MakeServerContext(const TlsPem& pem) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                       ec);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  // An idle connection (a WebSocket between messages) gives its buffers back.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(native, kCiphers) != 1) {
    return absl::InternalError(absl::StrCat("cannot set the TLS ciphers", OpenSslError()));
  }
  SSL_CTX_set_dh_auto(native, 1);
  if (!ec) context->use_certificate_chain(boost::asio::buffer(pem.cert), ec);
  if (!ec) context->use_private_key(boost::asio::buffer(pem.key), ssl::context::pem, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat("TLS certificate or key: ", ec.message()));
  }
  return context;
}

TlsReloadCheck::Outcome TlsReloadCheck::Check() {
  TlsPem read;
  if (!ReadTlsFiles(files_, read, error_)) {
    // Unreadable (say, between two steps of a copy): counted once, until it changes.
    read = TlsPem{};
    read.cert = absl::StrCat("\n", error_.message);
    if (read == last_bad_) return Outcome::kUnchanged;
    last_bad_ = read;
    return Outcome::kFailed;
  }
  if (read == current_ || read == last_bad_) {
    return Outcome::kUnchanged;
  }
  if (!CheckTlsPem(read, error_)) {
    last_bad_ = std::move(read);
    return Outcome::kFailed;
  }
  absl::StatusOr<std::shared_ptr<ssl::context>> made = MakeServerContext(read);
  if (!made.ok()) {
    error_ = {TlsFile::kCert, std::string(made.status().message())};
    last_bad_ = std::move(read);
    return Outcome::kFailed;
  }
  context_ = *std::move(made);
  current_ = std::move(read);
  last_bad_ = TlsPem{};
  return Outcome::kReloaded;
}

}  // namespace roomcast::net
