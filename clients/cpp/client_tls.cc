#include "clients/cpp/client_tls.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace roomcast {
namespace {

absl::StatusOr<std::string> ReadPem(const char* setting, const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream contents;
  contents << file.rdbuf();
  if (!file || contents.str().find("-----BEGIN") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(setting, " '", path, "' is not a readable PEM file"));
  }
  return contents.str();
}

bool IsHttps(const std::string& url) { return absl::StartsWithIgnoreCase(url, "https://"); }

}  // namespace

absl::StatusOr<std::optional<ClientTls>> ClientTls::Load(const ClientOptions& options) {
  if (options.client_cert_file.empty() != options.client_key_file.empty()) {
    return absl::InvalidArgumentError(
        "ROOMCAST_CLIENT_CERT_FILE and ROOMCAST_CLIENT_KEY_FILE go together: set both or neither");
  }
  if (!options.UsesTls()) {
    return std::nullopt;
  }
  for (const auto& [setting, url] :
       {std::pair<const char*, const std::string&>{"INTERNAL_API_URL", options.http_url},
        {"SOCKET_SERVER_URL", options.socket_url}}) {
    if (!IsHttps(url)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "TLS is on (ROOMCAST_CA_FILE, ROOMCAST_CLIENT_CERT_FILE or an https:// URL), so ",
          setting, " must be https://, got '", url, "': there is no plain-HTTP fallback"));
    }
  }
  ClientTls tls;
  if (!options.ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadPem("ROOMCAST_CA_FILE", options.ca_file);
    if (!ca.ok()) {
      return ca.status();
    }
    tls.ca_pem_ = *std::move(ca);
  }
  if (!options.client_cert_file.empty()) {
    absl::StatusOr<std::string> cert =
        ReadPem("ROOMCAST_CLIENT_CERT_FILE", options.client_cert_file);
    if (!cert.ok()) {
      return cert.status();
    }
    absl::StatusOr<std::string> key = ReadPem("ROOMCAST_CLIENT_KEY_FILE", options.client_key_file);
    if (!key.ok()) {
      return key.status();
    }
    tls.cert_pem_ = *std::move(cert);
    tls.key_pem_ = *std::move(key);
  }
  return tls;
}

std::shared_ptr<grpc::ChannelCredentials> ClientTls::GrpcCredentials() const {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca_pem_;
  ssl.pem_cert_chain = cert_pem_;
  ssl.pem_private_key = key_pem_;
  return grpc::SslCredentials(ssl);
}

absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> ClientTls::SslContext() const {
  namespace ssl = boost::asio::ssl;
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  context->set_verify_mode(ssl::verify_peer);
  if (ca_pem_.empty()) {
    context->set_default_verify_paths(ec);
  } else {
    context->add_certificate_authority(boost::asio::buffer(ca_pem_), ec);
  }
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat("ROOMCAST_CA_FILE: ", ec.message()));
  }
  if (!cert_pem_.empty()) {
    context->use_certificate_chain(boost::asio::buffer(cert_pem_), ec);
    if (!ec) {
      context->use_private_key(boost::asio::buffer(key_pem_), ssl::context::pem, ec);
    }
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("ROOMCAST_CLIENT_CERT_FILE / ROOMCAST_CLIENT_KEY_FILE: ", ec.message()));
    }
  }
  return context;
}

}  // namespace roomcast
