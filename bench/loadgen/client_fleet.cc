#include "bench/loadgen/client_fleet.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>

#include "bench/loadgen/client_event_plan.h"

namespace roomcast::bench {

namespace {

constexpr size_t kScratchBytes = 256 * 1024;
// Client events written per loop turn at most, so that reads (the acks) are
// not starved when the plan is behind.
constexpr int kMaxEventsPerTurn = 256;
constexpr int kIdleWaitMs = 10;

int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The unsigned number after `key` in `text` (e.g. `"s":`), if any.
bool NumberAfter(std::string_view text, std::string_view key, uint64_t& value) {
  size_t at = text.find(key);
  if (at == std::string_view::npos) return false;
  const char* begin = text.data() + at + key.size();
  return std::from_chars(begin, text.data() + text.size(), value).ec == std::errc();
}

}  // namespace

ClientFleet::ClientFleet(FleetOptions options, Ledger& ledger)
    : options_(std::move(options)),
      ledger_(ledger),
      clients_(options_.connections),
      readers_per_stream_(options_.broadcast ? 1 : options_.rooms, 0),
      scratch_(kScratchBytes) {
  // The first clients (by index) of each stream are never slow: spread the
  // slow ones evenly instead.
  if (options_.slow_fraction > 0) {
    int every = static_cast<int>(std::lround(1.0 / options_.slow_fraction));
    for (int i = 0; i < options_.connections; ++i) clients_[i].slow = (i % every) == every - 1;
  }
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
}

ClientFleet::~ClientFleet() {
  Stop();
  for (Client& client : clients_) {
    if (client.fd >= 0) close(client.fd);
  }
  close(epoll_fd_);
}

void ClientFleet::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void ClientFleet::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ClientFleet::Loop() {
  std::vector<epoll_event> events(1024);
  while (!stop_) {
    while (in_flight_ < options_.connect_concurrency && next_to_open_ < options_.connections) {
      OpenNext();
    }
    int wait_ms = kIdleWaitMs;
    if (ClientEventPlan* plan = plan_.load(std::memory_order_acquire)) {
      wait_ms = SendClientEvents(*plan);
    }
    int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), wait_ms);
    for (int i = 0; i < n; ++i) {
      OnEvent(static_cast<int>(events[i].data.u32), events[i].events);
    }
  }
}

int ClientFleet::SendClientEvents(ClientEventPlan& plan) {
  int sent = 0;
  for (int due = plan.Due(NowNs(), kMaxEventsPerTurn); due > 0; --due, ++sent) {
    int index = NextSender();
    if (index < 0) break;
    // Stamped just before its write: the round trip starts there.
    SendText(index, plan.Make(index, NowNs()));
  }
  int64_t wait_ns = plan.WaitNs(NowNs());
  // Flat out with nothing sent: every socket waits for its write (EPOLLOUT wakes us).
  if (wait_ns == 0 && sent == 0 && plan.Due(NowNs(), 1) > 0) return kIdleWaitMs;
  if (wait_ns < 0) return kIdleWaitMs;
  return static_cast<int>(std::min<int64_t>(kIdleWaitMs, (wait_ns + 999'999) / 1'000'000));
}

int ClientFleet::NextSender() {
  const int n = options_.connections;
  for (int step = 1; step <= n; ++step) {
    int index = (last_sender_ + step) % n;
    const Client& client = clients_[index];
    // One write waiting at most: a server that reads slowly slows the senders.
    if (client.state == State::kReady && !client.slow && client.unsent.empty()) {
      last_sender_ = index;
      return index;
    }
  }
  return -1;
}

void ClientFleet::OpenNext() {
  int index = next_to_open_++;
  Client& client = clients_[index];
  ++in_flight_;
  client.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (client.fd < 0) {
    Fail(index);
    return;
  }
  int one = 1;
  setsockopt(client.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (options_.sources > 1) {
    // Spread over 127.0.0.x so no single source runs out of ports.
    setsockopt(client.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(0x7f000001 + index % options_.sources);
    // A failed bind leaves the kernel to pick the source; connect still works.
    (void)bind(client.fd, reinterpret_cast<sockaddr*>(&source), sizeof(source));
  }
  const sockaddr_in& target = target_of(index).address;
  int rc = connect(client.fd, reinterpret_cast<const sockaddr*>(&target), sizeof(target));
  if (rc != 0 && errno != EINPROGRESS) {
    Fail(index);
    return;
  }
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT;
  event.data.u32 = static_cast<uint32_t>(index);
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, client.fd, &event);
}

void ClientFleet::OnEvent(int index, uint32_t events) {
  Client& client = clients_[index];
  if (client.state == State::kClosed) return;
  if (client.state == State::kConnecting) {
    if (events & (EPOLLERR | EPOLLHUP)) {
      Fail(index);
      return;
    }
    if (events & EPOLLOUT) {
      client.state = State::kUpgrading;
      client.unsent =
          "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: " +
          target_of(index).host_header +
          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
      Flush(index);
    }
    return;
  }
  if (events & EPOLLOUT) Flush(index);
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) OnReadable(index);
}

void ClientFleet::OnReadable(int index) {
  Client& client = clients_[index];
  while (client.state != State::kClosed) {
    ssize_t n = read(client.fd, scratch_.data(), scratch_.size());
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      Fail(index);
      return;
    }
    std::string_view data(scratch_.data(), static_cast<size_t>(n));
    if (!client.pending.empty()) {
      client.pending.append(data);
      size_t used = ConsumeFrames(index, client.pending);
      client.pending.erase(0, used);
    } else {
      size_t used = ConsumeFrames(index, data);
      if (used < data.size()) client.pending.assign(data.substr(used));
    }
    if (static_cast<size_t>(n) < scratch_.size()) return;
  }
}

size_t ClientFleet::ConsumeFrames(int index, std::string_view data) {
  Client& client = clients_[index];
  size_t used = 0;
  if (client.state == State::kUpgrading) {
    used = ConsumeHandshake(index, data);
    if (client.state == State::kUpgrading || client.state == State::kClosed) return used;
  }
  while (client.state != State::kClosed) {
    std::string_view rest = data.substr(used);
    if (rest.size() < 2) break;
    auto byte = [&](size_t i) { return static_cast<uint8_t>(rest[i]); };
    bool fin = byte(0) & 0x80;
    uint8_t opcode = byte(0) & 0x0f;
    uint64_t length = byte(1) & 0x7f;
    size_t header = 2;
    if (length == 126) {
      if (rest.size() < 4) break;
      length = (uint64_t{byte(2)} << 8) | byte(3);
      header = 4;
    } else if (length == 127) {
      if (rest.size() < 10) break;
      length = 0;
      for (int i = 0; i < 8; ++i) length = (length << 8) | byte(2 + i);
      header = 10;
    }
    if (rest.size() < header + length) break;
    std::string_view payload = rest.substr(header, length);
    used += header + length;
    if (opcode == 0x8) {  // close
      Fail(index);
      break;
    }
    if (opcode == 0x9) {  // ping
      SendFrame(index, 0xA, payload);
    } else if (opcode == 0x1 || opcode == 0x0) {
      if (fin && client.message.empty()) {
        OnMessage(index, payload);
      } else {
        client.message.append(payload);
        if (fin) {
          std::string message = std::move(client.message);
          client.message.clear();
          OnMessage(index, message);
        }
      }
    }
  }
  return used;
}

size_t ClientFleet::ConsumeHandshake(int index, std::string_view data) {
  size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (data.size() > 8192) Fail(index);
    return 0;
  }
  if (data.substr(0, 12) != "HTTP/1.1 101") {
    Fail(index);
    return end + 4;
  }
  clients_[index].state = State::kOpening;
  return end + 4;
}

void ClientFleet::OnMessage(int index, std::string_view message) {
  if (message.empty()) return;
  Client& client = clients_[index];
  switch (message[0]) {
    case '0':  // Engine.IO open
      if (client.state == State::kOpening) {
        client.state = State::kConnectingSocket;
        SendText(index, "40");
      }
      break;
    case '2':  // ping
      SendText(index, "3");
      break;
    case '4':
      OnSocketIo(index, message.substr(1));
      break;
    case '1':  // close
      Fail(index);
      break;
    default:
      break;
  }
}

void ClientFleet::OnSocketIo(int index, std::string_view packet) {
  Client& client = clients_[index];
  if (packet.empty()) return;
  if (packet[0] == '2' && client.state == State::kReady) {
    uint64_t sent_ns = 0, sequence = 0;
    if (NumberAfter(packet, "\"t\":", sent_ns) && NumberAfter(packet, "\"s\":", sequence)) {
      ledger_.Deliver(index, sequence, NowNs() - static_cast<int64_t>(sent_ns));
    }
    return;
  }
  if (packet[0] == '3' && client.state == State::kReady) {  // the ack of a client event
    if (ClientEventPlan* plan = plan_.load(std::memory_order_relaxed)) {
      plan->OnAck(index, packet, NowNs());
    }
    return;
  }
  if (packet[0] == '0' && client.state == State::kConnectingSocket) {
    client.state = State::kJoining;
    std::string room = "room-" + std::to_string(index % options_.rooms);
    SendText(index, "420[\"join\",\"" + room + "\"]");
    return;
  }
  if (packet[0] == '3' && client.state == State::kJoining) {
    if (packet.find("\"ok\":true") == std::string_view::npos) {
      Fail(index);
      return;
    }
    Joined(index);
    return;
  }
  if (packet[0] == '4') {  // CONNECT_ERROR
    Fail(index);
  }
}

void ClientFleet::Joined(int index) {
  Client& client = clients_[index];
  client.state = State::kReady;
  --in_flight_;
  if (client.slow) {
    // Never read again: the server's send queue toward it only grows.
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, client.fd, nullptr);
  } else {
    ++readers_per_stream_[stream_of(index)];
  }
  joined_.fetch_add(1);
}

void ClientFleet::SendText(int index, std::string_view text) { SendFrame(index, 0x1, text); }

void ClientFleet::SendFrame(int index, uint8_t opcode, std::string_view payload) {
  // Clients must mask; an all-zero key leaves the payload as it is.
  std::string& out = clients_[index].unsent;
  out.push_back(static_cast<char>(0x80 | opcode));
  if (payload.size() < 126) {
    out.push_back(static_cast<char>(0x80 | payload.size()));
  } else {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(payload.size() >> 8));
    out.push_back(static_cast<char>(payload.size() & 0xff));
  }
  out.append(4, '\0');
  out.append(payload);
  Flush(index);
}

void ClientFleet::Flush(int index) {
  Client& client = clients_[index];
  while (!client.unsent.empty()) {
    ssize_t n = send(client.fd, client.unsent.data(), client.unsent.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    if (n < 0) {
      Fail(index);
      return;
    }
    client.unsent.erase(0, static_cast<size_t>(n));
  }
  bool want_out = !client.unsent.empty();
  if (want_out != client.watching_out && !(client.slow && client.state == State::kReady)) {
    epoll_event event{};
    event.events = want_out ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
    event.data.u32 = static_cast<uint32_t>(index);
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, client.fd, &event);
    client.watching_out = want_out;
  }
}

void ClientFleet::Fail(int index) {
  Client& client = clients_[index];
  if (client.state == State::kClosed) return;
  bool was_joined = client.state == State::kReady;
  client.state = State::kClosed;
  if (client.fd >= 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, client.fd, nullptr);
    close(client.fd);
    client.fd = -1;
  }
  if (was_joined) {
    dropped_.fetch_add(1);
  } else {
    --in_flight_;
    failed_.fetch_add(1);
  }
}

}  // namespace roomcast::bench
