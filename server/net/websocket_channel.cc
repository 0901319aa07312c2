#include "server/net/websocket_channel.h"

#include <boost/asio/write.hpp>

#include "server/net/handler_memory.h"

namespace roomcast::net {
namespace beast = boost::beast;
namespace asio = boost::asio;
using websocket::CloseCode;
using websocket::Incoming;
using websocket::Opcode;

namespace {

constexpr auto kCloseGrace = std::chrono::seconds(2);
// Payloads this large are written from the shared packet, not copied.
constexpr size_t kCopyLimit = 1024;
constexpr size_t kReadChunk = 64 * 1024;

char* ReadScratch() {
  // One per shard thread: a connection has no read buffer of its own.
  thread_local std::unique_ptr<char[]> scratch(new char[kReadChunk]);
  return scratch.get();
}

}  // namespace

void WebSocketChannel::Outbox::Append(std::string_view bytes, const core::SharedPacket* owner) {
  if (owner != nullptr && bytes.size() >= kCopyLimit) {
    if (held.empty() || held.back() != *owner) held.push_back(*owner);
    segments.push_back({bytes.data(), 0, bytes.size()});
    return;
  }
  if (!segments.empty() && segments.back().data == nullptr) {
    segments.back().size += bytes.size();
  } else {
    segments.push_back({nullptr, copied.size(), bytes.size()});
  }
  copied.append(bytes);
}

WebSocketChannel::WebSocketChannel(asio::io_context& io, beast::tcp_stream stream,
                                   size_t max_message_bytes)
    : socket_(io), reader_(max_message_bytes) {
  handshake_.emplace(std::move(stream));
  // The handshake only writes the 101 (the request is already read), and
  // Beast's handshake timer would outlive the stream, holding memory per
  // connection: no timeouts here; the Engine.IO heartbeat times the rest.
  handshake_->set_option(beast::websocket::stream_base::timeout{
      beast::websocket::stream_base::none(), beast::websocket::stream_base::none(), false});
}

void WebSocketChannel::Accept(Request request, Callback on_done) {
  auto shared_request = std::make_shared<Request>(std::move(request));
  handshake_->async_accept(*shared_request, [self = shared_from_this(), shared_request,
                                             on_done = std::move(on_done)](beast::error_code ec) {
    if (!ec) {
      asio::ip::tcp::socket released = self->handshake_->next_layer().release_socket();
      const asio::ip::tcp protocol = released.local_endpoint(ec).protocol();
      if (!ec) self->socket_.assign(protocol, released.release(), ec);
      if (!ec) self->socket_.non_blocking(true, ec);
    }
    self->handshake_.reset();
    on_done(ec);
  });
}

// --- Reading --------------------------------------------------------------

void WebSocketChannel::StartReading(FrameHandler on_frame, Callback on_end) {
  on_frame_ = std::move(on_frame);
  on_end_ = std::move(on_end);
  WaitReadable();
}

void WebSocketChannel::WaitReadable() {
  socket_.async_wait(asio::socket_base::wait_read,
                     WithHandlerMemory([self = shared_from_this()](beast::error_code ec) {
                       self->OnReadable(ec);
                     }));
}

void WebSocketChannel::OnReadable(beast::error_code ec) {
  if (ended_) {
    return;
  }
  while (!ec) {
    char* scratch = ReadScratch();
    size_t n = socket_.read_some(asio::buffer(scratch, kReadChunk), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      WaitReadable();
      return;
    }
    if (ec) {
      break;
    }
    size_t consumed = 0;
    bool more;
    if (partial_.empty()) {
      more = Consume(scratch, n, consumed);
      if (more && consumed < n) partial_.assign(scratch + consumed, n - consumed);
    } else {
      partial_.append(scratch, n);
      more = Consume(partial_.data(), partial_.size(), consumed);
      partial_.erase(0, consumed);
      if (partial_.empty()) std::string().swap(partial_);
    }
    if (!more) {
      return;
    }
  }
  End(ec);
}

bool WebSocketChannel::Consume(char* data, size_t size, size_t& consumed) {
  auto self = shared_from_this();  // a handler may drop the last owner
  websocket::MessageReader::Result result =
      reader_.Read(data, size, [this](const Incoming& incoming) { OnIncoming(incoming); });
  consumed = result.consumed;
  if (result.failed()) {
    QueueClose(result.error, {});
    End(beast::error_code(boost::system::errc::protocol_error, boost::system::generic_category()));
    return false;
  }
  return !ended_;
}

void WebSocketChannel::OnIncoming(const Incoming& incoming) {
  if (ended_) {
    return;
  }
  switch (incoming.kind) {
    case Incoming::Kind::kMessage:
      if (on_frame_ && !close_queued_) on_frame_(incoming.data, incoming.binary);
      return;
    case Incoming::Kind::kPing:
      if (close_queued_) return;
      QueueFrame(Opcode::kPong, incoming.data);
      StartWrite();
      return;
    case Incoming::Kind::kPong:
      return;
    case Incoming::Kind::kClose:
      peer_closed_ = true;
      if (close_written_) {
        beast::error_code ignored;
        socket_.close(ignored);
      } else {
        // Echo the code (RFC 6455 §5.5.1), then the socket closes.
        QueueClose(
            incoming.close_code ? static_cast<CloseCode>(incoming.close_code) : CloseCode::kNormal,
            {});
      }
      End(beast::websocket::error::closed);
      return;
  }
}

void WebSocketChannel::End(beast::error_code ec) {
  if (ended_) {
    return;
  }
  ended_ = true;
  if (!close_queued_) {
    beast::error_code ignored;
    socket_.close(ignored);
  }
  // Drop the owner's callbacks: they may hold the owner alive.
  on_frame_ = nullptr;
  if (Callback on_end = std::move(on_end_)) {
    on_end_ = nullptr;
    on_end(ec);
  }
}

// --- Writing --------------------------------------------------------------

void WebSocketChannel::WritePackets(std::span<const core::SharedPacket> packets, Callback on_done) {
  if (close_queued_) {
    // Nothing goes after a close frame.
    asio::post(socket_.get_executor(),
               [on_done = std::move(on_done)] { on_done(asio::error::operation_aborted); });
    return;
  }
  for (const core::SharedPacket& packet : packets) {
    if (!packet->text.empty()) QueueFrame(Opcode::kText, packet->text, &packet);
    for (const std::string& attachment : packet->attachments) {
      QueueFrame(Opcode::kBinary, attachment, &packet);
    }
  }
  Queue().callbacks.push_back(std::move(on_done));
  StartWrite();
}

void WebSocketChannel::QueueFrame(Opcode opcode, std::string_view payload,
                                  const core::SharedPacket* owner) {
  std::string header;
  websocket::AppendFrameHeader(header, opcode, payload.size());
  Outbox& queue = Queue();
  queue.Append(header, nullptr);
  queue.Append(payload, owner);
}

WebSocketChannel::Outbox& WebSocketChannel::Queue() {
  if (!writes_) writes_ = std::make_unique<Writes>();
  return writes_->queued;
}

void WebSocketChannel::QueueClose(CloseCode code, std::string_view reason) {
  if (close_queued_) {
    return;
  }
  close_queued_ = true;
  Queue().Append(websocket::CloseFrame(code, reason), nullptr);
  StartWrite();
  // A client that stopped reading never lets the close go out: after a
  // grace period the connection is cut, freeing its socket and buffers.
  close_deadline_ = std::make_unique<Timer>(socket_.get_executor().context(), kCloseGrace);
  close_deadline_->async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) {
      beast::error_code ignored;
      self->socket_.close(ignored);
    }
  });
}

void WebSocketChannel::Close(std::string_view reason) {
  QueueClose(reason.empty() ? CloseCode::kNormal : CloseCode::kSlowConsumer, reason);
}

void WebSocketChannel::StartWrite() {
  if (!writes_ || writes_->in_flight || writes_->queued.empty() || !socket_.is_open()) {
    return;
  }
  Writes& writes = *writes_;
  std::swap(writes.queued, writes.writing);
  writes.buffers.clear();
  size_t total = 0;
  for (const Outbox::Segment& segment : writes.writing.segments) {
    const char* data = segment.data ? segment.data : writes.writing.copied.data() + segment.offset;
    writes.buffers.emplace_back(data, segment.size);
    total += segment.size;
  }
  // Most writes fit in the socket's buffer whole: one system call, done
  // here, with no operation to allocate and no completion to wait for.
  beast::error_code ec;
  const size_t written = socket_.write_some(writes.buffers, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec = {};
  }
  if (ec || written == total) {
    FinishWrite(ec);
    return;
  }
  // The rest waits for the socket: skip what went out.
  size_t skip = written;
  auto first = writes.buffers.begin();
  while (skip >= first->size()) {
    skip -= first->size();
    ++first;
  }
  *first += skip;
  writes.buffers.erase(writes.buffers.begin(), first);
  writes.in_flight = true;
  asio::async_write(
      socket_, writes.buffers,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->FinishWrite(ec); });
}

void WebSocketChannel::FinishWrite(beast::error_code ec) {
  Writes& writes = *writes_;
  writes.in_flight = false;
  std::vector<Callback> callbacks = std::move(writes.writing.callbacks);
  writes.writing = Outbox();
  if (!ec && close_queued_ && writes.queued.empty()) {
    // Our close frame is out: the client's answer (or EOF) ends the read loop.
    close_written_ = true;
    beast::error_code ignored;
    if (peer_closed_ || ended_) {
      socket_.close(ignored);
      CancelCloseDeadline();
    } else {
      socket_.shutdown(asio::socket_base::shutdown_send, ignored);
    }
  }
  for (Callback& callback : callbacks) {
    if (callback) callback(ec);
  }
  if (ec) {
    End(ec);
    return;
  }
  StartWrite();
  if (writes_ && !writes_->in_flight && writes_->queued.empty()) {
    writes_.reset();
  }
}

void WebSocketChannel::CancelCloseDeadline() {
  if (close_deadline_) close_deadline_->cancel();
}

}  // namespace roomcast::net
