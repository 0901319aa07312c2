#include "server/net/engine_endpoint.h"

#include <boost/asio/post.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>

#include "server/base/clock.h"
#include "server/base/string_view.h"
#include "server/net/http_compression.h"
#include "server/net/websocket_channel.h"

namespace roomcast::net {
namespace {

using engineio::Transport;

// The Engine.IO facts of a request, taken from its method, headers and query.
engineio::VerifyResult Verify(const Request& request) {
  engineio::RequestFacts facts;
  facts.method = std::string_view(request.method_string().data(), request.method_string().size());
  facts.websocket_upgrade = boost::beast::websocket::is_upgrade(request);
  const std::string_view target(request.target().data(), request.target().size());
  auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    engineio::VerifyResult result;
    result.error = &engineio::kBadRequest;
    return result;
  }
  // Query views point into `target`, which outlives `facts`.
  for (const auto& param : url->encoded_params()) {
    const std::string_view key(param.key.data(), param.key.size());
    const std::string_view value(param.value.data(), param.value.size());
    if (key == "EIO") {
      facts.eio = value;
    } else if (key == "transport") {
      facts.transport = value;
    } else if (key == "sid") {
      facts.sid = value;
    }
  }
  return engineio::VerifyRequest(facts);
}

}  // namespace

EngineEndpoint::EngineEndpoint(Shards& shards, EngineOptions options, CorsPolicy cors,
                               ListenerFactory make_listener, base::Counters& counters,
                               ConnectionLimits* limits)
    : shards_(shards),
      options_(options),
      cors_(std::move(cors)),
      make_listener_(std::move(make_listener)),
      counters_(counters),
      limits_(limits) {}

void EngineEndpoint::AddCorsHeaders(const Request& request, Response& response) const {
  auto origin = HeaderValue(request, http::field::origin);
  if (!origin) {
    return;
  }
  response.set(http::field::access_control_allow_origin, cors_.AllowOriginHeader(*origin));
  if (cors_.allow_credentials()) {
    response.set(http::field::access_control_allow_credentials, "true");
    response.set(http::field::vary, "Origin");
  }
}

Response EngineEndpoint::PollResponse(const Request& request, http::status status,
                                      std::string body) const {
  ContentCoding coding = ContentCoding::kIdentity;
  if (options_.compression_threshold > 0 && body.size() >= options_.compression_threshold) {
    coding = ChooseCoding(HeaderValue(request, http::field::accept_encoding).value_or(""));
  }
  std::optional<std::string> compressed;
  if (coding != ContentCoding::kIdentity) {
    compressed = Compress(body, coding);  // Sent as is if zlib fails.
  }
  const bool encoded = compressed.has_value();
  Response response =
      MakeResponse(request, status, encoded ? *std::move(compressed) : std::move(body),
                   "text/plain; charset=UTF-8");
  if (encoded) {
    response.set(http::field::content_encoding, std::string(CodingName(coding)));
  }
  AddCorsHeaders(request, response);
  return response;
}

Response EngineEndpoint::ErrorResponse(const Request& request,
                                       const engineio::RequestError& error) const {
  Response response = JsonResponse(request, static_cast<http::status>(error.http_status),
                                   engineio::ErrorBody(error));
  AddCorsHeaders(request, response);
  return response;
}

void EngineEndpoint::Preflight(const std::shared_ptr<HttpConnection>& connection,
                               const Request& request) {
  Response response = MakeResponse(request, http::status::no_content, "", "text/plain");
  AddCorsHeaders(request, response);
  response.set(http::field::access_control_allow_methods, "GET, POST, OPTIONS");
  if (auto headers = HeaderValue(request, http::field::access_control_request_headers)) {
    response.set(http::field::access_control_allow_headers, *headers);
  }
  response.set(http::field::access_control_max_age, "86400");
  connection->Reply(std::move(response));
}

void EngineEndpoint::Handle(const std::shared_ptr<HttpConnection>& connection, Request request) {
  if (!cors_.Allows(HeaderValue(request, http::field::origin))) {
    Response response =
        JsonResponse(request, http::status::forbidden, engineio::ErrorBody(engineio::kForbidden));
    connection->Reply(std::move(response));
    return;
  }
  if (request.method() == http::verb::options) {
    Preflight(connection, request);
    return;
  }
  engineio::VerifyResult verified = Verify(request);
  if (verified.error != nullptr) {
    connection->Reply(ErrorResponse(request, *verified.error));
    return;
  }
  const engineio::RequestTarget& target = verified.target;
  if (target.sid.empty()) {
    Open(connection, std::move(request), target.transport);
    return;
  }
  Shard* owner = shards_.ForSessionId(target.sid);
  if (owner == nullptr) {
    connection->Reply(ErrorResponse(request, engineio::kSessionIdUnknown));
    return;
  }
  if (owner != &connection->shard()) {
    connection->MoveTo(*owner, std::move(request));  // Handled again there.
    return;
  }
  auto it = owner->sessions().find(target.sid);
  if (it == owner->sessions().end() || &it->second->endpoint() != this) {
    connection->Reply(ErrorResponse(request, engineio::kSessionIdUnknown));
    return;
  }
  std::shared_ptr<EngineSession> session = it->second;
  connection->Attach();
  if (target.transport == Transport::kWebSocket) {
    Upgrade(connection, std::move(request), *session);
  } else if (session->transport() != Transport::kPolling) {
    connection->Reply(ErrorResponse(request, engineio::kBadRequest));  // Transport mismatch.
  } else if (request.method() == http::verb::get) {
    session->OnPollGet(connection, std::move(request));
  } else {
    session->OnPollPost(connection, std::move(request));
  }
}

void EngineEndpoint::Open(const std::shared_ptr<HttpConnection>& connection, Request request,
                          Transport transport) {
  std::unique_ptr<ConnectionLimits::Admission> admission;
  if (limits_ != nullptr) {
    absl::StatusOr<std::unique_ptr<ConnectionLimits::Admission>> admitted =
        limits_->Admit(limits_->ClientAddress(connection->remote_address(),
                                              HeaderValue(request, "x-forwarded-for")));
    if (!admitted.ok()) {
      connection->Reply(JsonResponse(
          request, http::status::service_unavailable,
          engineio::ErrorBody(engineio::RequestError{3, ToStd(admitted.status().message()), 503})));
      return;
    }
    admission = *std::move(admitted);
  }
  connection->Attach();
  Shard& shard = connection->shard();
  auto session = std::make_shared<EngineSession>(shards_.NewSessionId(shard), shard, *this,
                                                 transport, counters_);
  shard.sessions().emplace(session->sid(), session);
  session->set_admission(std::move(admission));
  socketio::Handshake handshake;
  handshake.authorization =
      std::string(HeaderValue(request, http::field::authorization).value_or(""));
  handshake.cookie = std::string(HeaderValue(request, http::field::cookie).value_or(""));
  if (options_.keep_client_details) {
    handshake.address = limits_ != nullptr
                            ? limits_->ClientAddress(connection->remote_address(),
                                                     HeaderValue(request, "x-forwarded-for"))
                            : connection->remote_address().to_string();
    handshake.url = std::string(request.target());
    handshake.user_agent = std::string(HeaderValue(request, http::field::user_agent).value_or(""));
    handshake.issued_ms = base::UnixMillis();
  }
  session->set_handshake(std::move(handshake));
  const std::string open = engineio::OpenPacket(session->sid(), transport, options_.protocol);
  if (transport == Transport::kPolling) {
    session->Start(make_listener_(*session));
    connection->Reply(PollResponse(request, http::status::ok, open));
    return;
  }
  auto channel = std::make_shared<WebSocketChannel>(
      connection->shard().io(), connection->TakeStream(), options_.protocol.max_payload);
  std::weak_ptr<EngineSession> weak = session;
  channel->Accept(std::move(request), [weak, channel, open, this](boost::beast::error_code ec) {
    auto session = weak.lock();
    if (!session) {
      return;
    }
    if (ec) {
      session->Close(engineio::kReasonTransportError);
      return;
    }
    session->Send(core::MakePacket(open));
    session->Start(make_listener_(*session));
    session->AttachWebSocket(channel);
  });
}

void EngineEndpoint::Upgrade(const std::shared_ptr<HttpConnection>& connection, Request request,
                             EngineSession& session) {
  const std::optional<uint64_t> attempt = session.BeginUpgrade();
  auto channel = std::make_shared<WebSocketChannel>(
      connection->shard().io(), connection->TakeStream(), options_.protocol.max_payload);
  channel->Accept(std::move(request),
                  [weak = session.weak_from_this(), channel, attempt](boost::beast::error_code ec) {
                    auto session = weak.lock();
                    if (!attempt || !session) {
                      // Refused (already upgraded, another probe runs): as the reference
                      // server does, the WebSocket opens and is closed at once.
                      if (!ec) {
                        channel->StartReading({}, {});
                        channel->Close();
                      }
                      return;
                    }
                    if (ec) {
                      session->OnProbeFailed(*attempt);
                    } else {
                      session->OnProbeOpened(*attempt, channel);
                    }
                  });
}

void EngineEndpoint::CloseAll(std::string_view reason) {
  for (size_t i = 0; i < shards_.size(); ++i) {
    Shard& shard = shards_[i];
    boost::asio::post(shard.io(), [&shard, this, reason = std::string(reason)] {
      std::vector<std::shared_ptr<EngineSession>> sessions;
      for (const auto& [sid, session] : shard.sessions()) {
        if (&session->endpoint() == this) {
          sessions.push_back(session);
        }
      }
      for (const auto& session : sessions) {
        session->Close(reason);
      }
    });
  }
}

}  // namespace roomcast::net
