#pragma once

#include <atomic>
#include <cstdint>

namespace roomcast::base {

// Process-wide counters, bumped from any shard (relaxed: they are statistics).
struct Counters {
  std::atomic<uint64_t> sessions_opened{0};
  std::atomic<uint64_t> sessions_closed{0};
  std::atomic<uint64_t> sockets_connected{0};
  std::atomic<uint64_t> sockets_disconnected{0};
  // Connection state recovery: returning sessions resumed, and those that
  // came too late (or found the log trimmed) and started afresh.
  std::atomic<uint64_t> sessions_recovered{0};
  std::atomic<uint64_t> sessions_not_recovered{0};
  std::atomic<uint64_t> connect_errors{0};
  std::atomic<uint64_t> protocol_errors{0};
  std::atomic<uint64_t> client_events{0};
  // Client events: those no service takes (the browser hears
  // `unavailable`), those handed to a stream, and the acks services sent
  // or let time out; streams cut for falling behind; the webhook's requests.
  std::atomic<uint64_t> client_events_unavailable{0};
  std::atomic<uint64_t> client_events_routed{0};
  std::atomic<uint64_t> client_acks{0};
  std::atomic<uint64_t> client_acks_timed_out{0};
  std::atomic<uint64_t> client_event_streams_cut{0};
  std::atomic<uint64_t> webhook_deliveries{0};
  std::atomic<uint64_t> webhook_failures{0};
  std::atomic<uint64_t> webhook_retries{0};
  std::atomic<uint64_t> webhook_refused{0};
  // The API keys file: re-reads that took, and bad files refused.
  std::atomic<uint64_t> api_keys_reloads{0};
  std::atomic<uint64_t> api_keys_reload_failures{0};
  std::atomic<uint64_t> joins_forbidden{0};
  std::atomic<uint64_t> connections_refused{0};
  std::atomic<uint64_t> handshakes_throttled{0};
  // Connections before a session: closed at a cap (overall, per address),
  // or at a deadline (headers too slow, idle between requests).
  std::atomic<uint64_t> unattached{0};  // A gauge.
  std::atomic<uint64_t> unattached_refused{0};
  std::atomic<uint64_t> unattached_refused_per_ip{0};
  std::atomic<uint64_t> header_timeouts{0};
  std::atomic<uint64_t> idle_timeouts{0};
  std::atomic<uint64_t> client_events_throttled{0};
  std::atomic<uint64_t> emits_refused{0};  // Too large, or a batch too long.
  std::atomic<uint64_t> emits{0};
  std::atomic<uint64_t> emits_via_grpc{0};
  std::atomic<uint64_t> emits_via_http{0};
  std::atomic<uint64_t> deliveries{0};
  std::atomic<uint64_t> dropped_volatile{0};
  std::atomic<uint64_t> slow_consumer_disconnects{0};
  // The cluster broker (Redis): what other nodes and emitters sent this node,
  // how much of it no local socket wanted, and the link itself.
  std::atomic<uint64_t> broker_messages{0};
  std::atomic<uint64_t> broker_messages_unused{0};
  std::atomic<uint64_t> broker_bytes_received{0};
  std::atomic<uint64_t> broker_bytes_sent{0};
  std::atomic<uint64_t> broker_reconnects{0};
  std::atomic<uint64_t> broker_publish_failures{0};
  std::atomic<uint64_t> broker_subscriptions{0};  // A gauge: rooms and namespaces subscribed.
  // ROOMCAST_JWKS_URL: fetches that gave a key set, those that failed (the
  // old keys stay), and a gauge of the keys in use.
  std::atomic<uint64_t> jwks_fetches{0};
  std::atomic<uint64_t> jwks_fetch_failures{0};
  std::atomic<uint64_t> jwks_keys{0};
  // TLS files re-read with new contents: taken, or refused (the old stay).
  std::atomic<uint64_t> tls_reloads{0};
  std::atomic<uint64_t> tls_reload_failures{0};

  // The Admin UI's traffic figures: Engine.IO messages and their bytes,
  // counted only while an admin watches (one relaxed load otherwise).
  std::atomic<bool> admin_watching{false};
  std::atomic<uint64_t> admin_packets_in{0};
  std::atomic<uint64_t> admin_packets_out{0};
  std::atomic<uint64_t> admin_bytes_in{0};
  std::atomic<uint64_t> admin_bytes_out{0};

  static void Bump(std::atomic<uint64_t>& counter, uint64_t by = 1) {
    counter.fetch_add(by, std::memory_order_relaxed);
  }
};

}  // namespace roomcast::base
