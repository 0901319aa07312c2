#include "server/broker/redis_connection.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>

#include "absl/strings/str_cat.h"

namespace roomcast::broker {
namespace {

namespace asio = boost::asio;
constexpr size_t kReadChunk = 64 * 1024;

std::string ReplyError(const redisReply& reply) { return std::string(ReplyText(reply)); }

}  // namespace

std::shared_ptr<RedisConnection> RedisConnection::Create(asio::io_context& io,
                                                         asio::ssl::context* tls,
                                                         RedisAddress address, OnClosed on_closed) {
  return std::shared_ptr<RedisConnection>(
      new RedisConnection(io, tls, std::move(address), std::move(on_closed)));
}

RedisConnection::RedisConnection(asio::io_context& io, asio::ssl::context* tls,
                                 RedisAddress address, OnClosed on_closed)
    : io_(io),
      tls_context_(tls),
      address_(std::move(address)),
      on_closed_(std::move(on_closed)),
      resolver_(io),
      socket_(io),
      connect_timer_(io),
      reader_(redisReaderCreate(), redisReaderFree),
      read_buffer_(kReadChunk) {}

RedisConnection::~RedisConnection() = default;

template <typename Visit>
void RedisConnection::WithStream(Visit&& visit) {
  if (tls_) {
    visit(*tls_);
  } else {
    visit(socket_);
  }
}

void RedisConnection::Connect(std::chrono::milliseconds timeout,
                              absl::AnyInvocable<void(absl::Status) &&> done) {
  auto shared_done = std::make_shared<absl::AnyInvocable<void(absl::Status) &&>>(std::move(done));
  auto finish = [self = shared_from_this(), shared_done](absl::Status status) {
    if (!*shared_done) {
      return;  // The timeout and the outcome race: the first one counts.
    }
    // Taken first: Close() fails the login's pending command, which comes
    // back here.
    absl::AnyInvocable<void(absl::Status)&&> done = std::move(*shared_done);
    *shared_done = nullptr;
    self->connect_timer_.cancel();
    if (status.ok()) {
      self->established_ = true;
    } else {
      self->Close(status);
    }
    std::move(done)(std::move(status));
  };
  connect_timer_.expires_after(timeout);
  connect_timer_.async_wait([self = shared_from_this(), finish](boost::system::error_code ec) {
    if (!ec) {
      finish(absl::DeadlineExceededError(absl::StrCat(
          "no connection to Redis at ", self->address_.Describe(), " within the timeout")));
    }
  });
  resolver_.async_resolve(
      address_.host, std::to_string(address_.port),
      [self = shared_from_this(), finish](boost::system::error_code ec,
                                          const asio::ip::tcp::resolver::results_type& endpoints) {
        if (ec) {
          finish(absl::UnavailableError(
              absl::StrCat("cannot resolve ", self->address_.host, ": ", ec.message())));
          return;
        }
        asio::async_connect(
            self->socket_, endpoints,
            [self, finish](boost::system::error_code ec, const asio::ip::tcp::endpoint&) {
              if (ec) {
                finish(absl::UnavailableError(absl::StrCat(
                    "cannot connect to Redis at ", self->address_.Describe(), ": ", ec.message())));
                return;
              }
              self->socket_.set_option(asio::ip::tcp::no_delay(true));
              self->Handshake([self, finish](const absl::Status& status) {
                if (!status.ok()) {
                  finish(status);
                  return;
                }
                self->open_ = true;
                self->Read();
                self->Login(finish);
              });
            });
      });
}

void RedisConnection::Handshake(absl::AnyInvocable<void(absl::Status) &&> done) {
  if (!address_.tls) {
    std::move(done)(absl::OkStatus());
    return;
  }
  if (tls_context_ == nullptr) {
    std::move(done)(absl::FailedPreconditionError("rediss:// without a TLS context"));
    return;
  }
  tls_.emplace(socket_, *tls_context_);
  // SNI and the name the certificate must carry.
  SSL_set_tlsext_host_name(tls_->native_handle(), address_.host.c_str());
  tls_->set_verify_callback(asio::ssl::host_name_verification(address_.host));
  tls_->async_handshake(
      asio::ssl::stream_base::client,
      [self = shared_from_this(), done = std::move(done)](boost::system::error_code ec) mutable {
        std::move(done)(ec ? absl::UnavailableError(absl::StrCat("TLS handshake with Redis at ",
                                                                 self->address_.Describe(),
                                                                 " failed: ", ec.message()))
                           : absl::OkStatus());
      });
}

void RedisConnection::Login(absl::AnyInvocable<void(absl::Status) &&> done) {
  auto shared_done = std::make_shared<absl::AnyInvocable<void(absl::Status) &&>>(std::move(done));
  // Ends with a round trip either way: a TCP connect alone is accepted by
  // the kernel even when the server is stopped.
  auto select = [self = shared_from_this(), shared_done] {
    const std::string db = std::to_string(self->address_.db);
    self->Send(self->address_.db == 0 ? std::vector<std::string_view>{"PING"}
                                      : std::vector<std::string_view>{"SELECT", db},
               [shared_done](absl::StatusOr<RedisReply> reply) {
                 std::move (*shared_done)(reply.ok() ? absl::OkStatus()
                                                     : absl::UnavailableError(absl::StrCat(
                                                           "Redis did not answer the login: ",
                                                           reply.status().message())));
               });
  };
  if (address_.password.empty() && address_.user.empty()) {
    select();
    return;
  }
  std::vector<std::string_view> auth{"AUTH"};
  if (!address_.user.empty()) {
    auth.push_back(address_.user);
  }
  auth.push_back(address_.password);
  Send(auth, [shared_done, select](absl::StatusOr<RedisReply> reply) {
    if (!reply.ok()) {
      // The message says which (WRONGPASS, NOAUTH); it never holds the password.
      std::move (*shared_done)(absl::PermissionDeniedError(
          absl::StrCat("Redis refused AUTH: ", reply.status().message())));
      return;
    }
    select();
  });
}

void RedisConnection::Send(const std::vector<std::string_view>& args, OnReply done) {
  if (!open_) {
    if (done) {
      std::move(done)(absl::UnavailableError("Redis connection is not open"));
    }
    return;
  }
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (std::string_view arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* command = nullptr;
  const int length =
      redisFormatCommandArgv(&command, static_cast<int>(argv.size()), argv.data(), lengths.data());
  if (length < 0) {
    if (done) {
      std::move(done)(absl::ResourceExhaustedError("cannot format a Redis command"));
    }
    return;
  }
  outgoing_.append(command, static_cast<size_t>(length));
  redisFreeCommand(command);
  if (!on_push_) {
    waiting_.push_back(std::move(done));
  }
  if (writing_.empty()) {
    Write();
  }
}

void RedisConnection::Write() {
  writing_.swap(outgoing_);
  WithStream([this](auto& stream) {
    asio::async_write(stream, asio::buffer(writing_),
                      [self = shared_from_this()](boost::system::error_code ec, size_t written) {
                        if (ec) {
                          self->Close(absl::UnavailableError(
                              absl::StrCat("writing to Redis failed: ", ec.message())));
                          return;
                        }
                        self->bytes_sent_ += written;
                        self->writing_.clear();
                        if (!self->outgoing_.empty() && !self->closed_) {
                          self->Write();
                        }
                      });
  });
}

void RedisConnection::Read() {
  WithStream([this](auto& stream) {
    stream.async_read_some(asio::buffer(read_buffer_), [self = shared_from_this()](
                                                           boost::system::error_code ec,
                                                           size_t bytes) {
      if (ec) {
        self->Close(absl::UnavailableError(
            ec == asio::error::eof ? std::string("Redis closed the connection")
                                   : absl::StrCat("reading from Redis failed: ", ec.message())));
        return;
      }
      self->OnData(bytes);
      if (!self->closed_) {
        self->Read();
      }
    });
  });
}

void RedisConnection::OnData(size_t bytes) {
  bytes_received_ += bytes;
  if (redisReaderFeed(reader_.get(), read_buffer_.data(), bytes) != REDIS_OK) {
    Close(absl::DataLossError("Redis sent more than the reader can buffer"));
    return;
  }
  while (!closed_) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
      Close(absl::DataLossError(absl::StrCat("Redis sent bad RESP: ", reader_->errstr)));
      return;
    }
    if (raw == nullptr) {
      return;  // Incomplete: wait for more.
    }
    RedisReply reply(static_cast<redisReply*>(raw));
    if (on_push_) {
      on_push_(*reply);
      continue;
    }
    if (waiting_.empty()) {
      Close(absl::DataLossError("Redis sent a reply nobody asked for"));
      return;
    }
    OnReply done = std::move(waiting_.front());
    waiting_.pop_front();
    if (!done) {
      continue;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      std::move(done)(absl::FailedPreconditionError(ReplyError(*reply)));
    } else {
      std::move(done)(std::move(reply));
    }
  }
}

void RedisConnection::Close(const absl::Status& why) {
  if (closed_) {
    return;
  }
  closed_ = true;
  open_ = false;
  connect_timer_.cancel();
  resolver_.cancel();
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  std::deque<OnReply> waiting;
  waiting.swap(waiting_);
  for (OnReply& done : waiting) {
    if (done) {
      std::move(done)(
          absl::UnavailableError(absl::StrCat("Redis connection lost: ", why.message())));
    }
  }
  if (on_closed_ && established_) {
    OnClosed on_closed = std::move(on_closed_);
    on_closed(why);
  }
}

}  // namespace roomcast::broker
