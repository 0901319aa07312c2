#include "server/net/websocket_channel.h"

namespace roomcast::net {
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {
constexpr auto kCloseGrace = std::chrono::seconds(2);
}  // namespace

WebSocketChannel::WebSocketChannel(beast::tcp_stream stream, size_t max_message_bytes)
    : ws_(std::move(stream)), close_deadline_(ws_.get_executor()) {
  ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws_.read_message_max(max_message_bytes);
  ws_.auto_fragment(false);
}

void WebSocketChannel::Accept(Request request, Callback on_done) {
  auto shared_request = std::make_shared<Request>(std::move(request));
  ws_.async_accept(*shared_request, [self = shared_from_this(), shared_request,
                                     on_done = std::move(on_done)](beast::error_code ec) {
    on_done(ec);
  });
}

void WebSocketChannel::StartReading(FrameHandler on_frame, Callback on_end) {
  on_frame_ = std::move(on_frame);
  on_end_ = std::move(on_end);
  ReadNext();
}

void WebSocketChannel::ReadNext() {
  ws_.async_read(read_buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
    if (ec) {
      // Drop the owner's callbacks: they may hold the owner alive.
      self->on_frame_ = nullptr;
      if (Callback on_end = std::move(self->on_end_)) {
        self->on_end_ = nullptr;
        on_end(ec);
      }
      return;
    }
    const auto data = self->read_buffer_.cdata();
    const std::string_view bytes(static_cast<const char*>(data.data()), data.size());
    if (self->on_frame_) {
      self->on_frame_(bytes, !self->ws_.got_text());
    }
    self->read_buffer_.consume(self->read_buffer_.size());
    self->ReadNext();
  });
}

void WebSocketChannel::WritePacket(core::SharedPacket packet, Callback on_done) {
  if (writing_) {
    waiting_.emplace_back(std::move(packet), std::move(on_done));
    return;
  }
  writing_ = std::move(packet);
  on_written_ = std::move(on_done);
  WriteFrame(writing_->text.empty() ? 1 : 0);
}

// Frame 0 is the text frame, frame i > 0 is attachment i - 1.
void WebSocketChannel::WriteFrame(size_t index) {
  if (index > writing_->attachments.size()) {
    FinishWrite({});
    return;
  }
  const std::string& bytes = index == 0 ? writing_->text : writing_->attachments[index - 1];
  ws_.text(index == 0);
  ws_.async_write(boost::asio::buffer(bytes),
                  [self = shared_from_this(), index](beast::error_code ec, size_t) {
                    if (ec) {
                      self->FinishWrite(ec);
                      return;
                    }
                    self->WriteFrame(index + 1);
                  });
}

void WebSocketChannel::Close(std::string_view reason) {
  if (!close_requested_) {
    close_reason_ = std::string(reason);
  }
  close_requested_ = true;
  if (!writing_) {
    SendClose();  // Otherwise after the write in flight: Beast allows one writer at a time.
    return;
  }
  // A client that stopped reading never lets that write finish: after a
  // grace period the connection is cut, freeing its socket and buffers.
  close_deadline_.expires_after(kCloseGrace);
  close_deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec && !self->close_sent_) {
      beast::error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().close(ignored);
    }
  });
}

void WebSocketChannel::SendClose() {
  if (close_sent_) {
    return;
  }
  close_sent_ = true;
  // 4000: an application code, so a browser's CloseEvent says why it was dropped.
  const websocket::close_reason reason =
      close_reason_.empty() ? websocket::close_reason(websocket::close_code::normal)
                            : websocket::close_reason(static_cast<websocket::close_code>(4000), close_reason_);
  ws_.async_close(reason, [self = shared_from_this()](beast::error_code) {});
}

void WebSocketChannel::FinishWrite(beast::error_code ec) {
  writing_.reset();
  Callback done = std::move(on_written_);
  on_written_ = nullptr;
  if (!ec && !waiting_.empty() && !close_requested_) {
    auto [next, next_done] = std::move(waiting_.front());
    waiting_.pop_front();
    WritePacket(std::move(next), std::move(next_done));
  } else if (close_requested_) {
    SendClose();
  }
  if (done) {
    done(ec);
  }
}

}  // namespace roomcast::net
