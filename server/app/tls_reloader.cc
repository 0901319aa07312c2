#include "server/app/tls_reloader.h"

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "server/app/settings.h"

namespace roomcast::app {
namespace {

namespace fs = std::filesystem;

constexpr char kKey[] = "key.pem";
constexpr char kCert[] = "cert.pem";
constexpr char kCa[] = "ca.pem";

// Written whole under a temporary name, then renamed: a reader sees the old
// file or the new one.
absl::Status WriteAtomically(const fs::path& path, const std::string& text) {
  const fs::path temporary = fs::path(path).concat(".new");
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    file << text;
    if (!file.flush()) {
      return absl::InternalError(absl::StrCat("cannot write ", temporary.string()));
    }
  }
  std::error_code ec;
  fs::rename(temporary, path, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot rename to ", path.string(), ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TlsReloader>> TlsReloader::Create(const Config& config,
                                                                 base::Counters& counters) {
  const net::TlsFiles files{config.tls_cert_file, config.tls_key_file, config.tls_client_ca_file};
  net::TlsPem pem;
  net::TlsFileError error;
  if (!net::ReadTlsFiles(files, pem, error) || !net::CheckTlsPem(pem, error)) {
    return absl::InvalidArgumentError(error.message);
  }
  absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> context = net::MakeServerContext(pem);
  if (!context.ok()) {
    return context.status();
  }
  std::unique_ptr<TlsReloader> reloader(new TlsReloader(config, counters, pem));
  reloader->slot_ = std::make_unique<net::TlsContextSlot>(*std::move(context));
  std::string dir = (fs::temp_directory_path() / "roomcast-tls-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("cannot make a directory like ", dir));
  }
  reloader->copies_ = dir;
  if (absl::Status written = reloader->WriteCopies(pem); !written.ok()) {
    return written;
  }
  return reloader;
}

TlsReloader::TlsReloader(const Config& config, base::Counters& counters, net::TlsPem pem)
    : counters_(counters),
      interval_(config.tls_reload_interval),
      client_ca_(!config.tls_client_ca_file.empty()),
      check_(net::TlsFiles{config.tls_cert_file, config.tls_key_file, config.tls_client_ca_file},
             std::move(pem)) {}

TlsReloader::~TlsReloader() {
  if (!copies_.empty()) {
    std::error_code ignored;
    fs::remove_all(copies_, ignored);
  }
}

absl::Status TlsReloader::WriteCopies(const net::TlsPem& pem) const {
  // The key first: gRPC reads both and retries when either changed meanwhile.
  const fs::path dir(copies_);  // mkdtemp made it 0700
  absl::Status status = WriteAtomically(dir / kKey, pem.key);
  if (status.ok()) status = WriteAtomically(dir / kCert, pem.cert);
  if (status.ok() && client_ca_) status = WriteAtomically(dir / kCa, pem.client_ca);
  return status;
}

std::shared_ptr<grpc::ServerCredentials> TlsReloader::GrpcCredentials() const {
  const fs::path dir(copies_);
  const auto refresh = static_cast<unsigned int>(interval_.count());
  auto provider =
      client_ca_ ? std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
                       (dir / kKey).string(), (dir / kCert).string(), (dir / kCa).string(), refresh)
                 : std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
                       (dir / kKey).string(), (dir / kCert).string(), refresh);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (client_ca_) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

std::string TlsReloader::SettingOf(net::TlsFile file) const {
  const char* flag = file == net::TlsFile::kCert  ? "tls_cert_file"
                     : file == net::TlsFile::kKey ? "tls_key_file"
                                                  : "tls_client_ca_file";
  for (const Setting& setting : Settings()) {
    if (setting.flag == flag) return SettingName(setting);
  }
  return flag;
}

void TlsReloader::Check() {
  switch (check_.Check()) {
    case net::TlsReloadCheck::Outcome::kUnchanged:
      return;
    case net::TlsReloadCheck::Outcome::kFailed:
      base::Counters::Bump(counters_.tls_reload_failures);
      spdlog::warn("app: TLS reload failed, keeping the old certificate setting={} error={}",
                   SettingOf(check_.error().file), check_.error().message);
      return;
    case net::TlsReloadCheck::Outcome::kReloaded:
      break;
  }
  slot_->Set(check_.context());
  if (absl::Status written = WriteCopies(check_.current()); !written.ok()) {
    base::Counters::Bump(counters_.tls_reload_failures);
    spdlog::warn("app: TLS reload failed for gRPC error={}", std::string(written.message()));
    return;
  }
  base::Counters::Bump(counters_.tls_reloads);
  spdlog::info("app: TLS certificate reloaded");
}

}  // namespace roomcast::app
