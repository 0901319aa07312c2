#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "absl/status/statusor.h"

namespace roomcast::net {

// The TLS files roomcastd is given, by path.
struct TlsFiles {
  std::string cert;       // PEM chain, the server's certificate first
  std::string key;        // PEM private key of that certificate
  std::string client_ca;  // PEM CAs that sign gRPC clients' certificates; empty: no mTLS
  bool enabled() const { return !cert.empty(); }
};

// The files' contents.
struct TlsPem {
  std::string cert;
  std::string key;
  std::string client_ca;
  bool operator==(const TlsPem&) const = default;
};

// Which file a failed read or check is about, so the error can name its setting.
enum class TlsFile { kCert, kKey, kClientCa };
struct TlsFileError {
  TlsFile file;
  std::string message;
};

// Reads the files as they are (`error` names one that cannot be read).
bool ReadTlsFiles(const TlsFiles& files, TlsPem& pem, TlsFileError& error);
// Checks what was read: every PEM parses and the key is the certificate's.
bool CheckTlsPem(const TlsPem& pem, TlsFileError& error);

// A server context for the HTTP port: TLS 1.2 and 1.3 only, Mozilla's
// "intermediate" ciphers, no client certificates asked for.
absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> MakeServerContext(const TlsPem& pem);

// The context new HTTPS connections take; replaced whole on a reload, while
// open connections keep the one they started with.
class TlsContextSlot {
 public:
  explicit TlsContextSlot(std::shared_ptr<boost::asio::ssl::context> context)
      : context_(std::move(context)) {}
  std::shared_ptr<boost::asio::ssl::context> Get() const {
    std::lock_guard lock(mutex_);
    return context_;
  }
  void Set(std::shared_ptr<boost::asio::ssl::context> context) {
    std::lock_guard lock(mutex_);
    context_ = std::move(context);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> context_;
};

// Decides, each time it is asked, whether the files hold a new good set:
// unchanged contents do nothing, a bad new set keeps the old one.
class TlsReloadCheck {
 public:
  enum class Outcome { kUnchanged, kReloaded, kFailed };

  TlsReloadCheck(TlsFiles files, TlsPem current)
      : files_(std::move(files)), current_(std::move(current)) {}

  // kReloaded: current() is the new set and context() a server context of
  // it. kFailed: error() says why, and current() is still the old set; the
  // same bad contents fail once only.
  Outcome Check();
  const TlsPem& current() const { return current_; }
  const std::shared_ptr<boost::asio::ssl::context>& context() const { return context_; }
  const TlsFileError& error() const { return error_; }

 private:
  TlsFiles files_;
  TlsPem current_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  TlsPem last_bad_;
  TlsFileError error_;
};

}  // namespace roomcast::net
