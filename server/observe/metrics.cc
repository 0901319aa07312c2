#include "server/observe/metrics.h"

#include <cmath>

#include <prometheus/text_serializer.h>

namespace roomcast::observe {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

void AddSample(MetricFamily& family, double value, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric metric;
  metric.label = std::move(labels);
  if (family.type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
}

double Load(const std::atomic<uint64_t>& counter) {
  return static_cast<double>(counter.load(std::memory_order_relaxed));
}

// Bucket bounds in seconds: 25 us to 2.5 s.
const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {
    0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
    0.01,     0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5};

double Quantile(const ClientMetric::Histogram& histogram, double q) {
  if (histogram.sample_count == 0) {
    return 0;
  }
  const double rank = q * static_cast<double>(histogram.sample_count);
  double lower_bound = 0;
  uint64_t below = 0;
  for (const ClientMetric::Bucket& bucket : histogram.bucket) {
    if (static_cast<double>(bucket.cumulative_count) >= rank) {
      if (std::isinf(bucket.upper_bound)) {
        return lower_bound;  // Past the last bound: report the last finite one.
      }
      const uint64_t in_bucket = bucket.cumulative_count - below;
      const double fraction =
          in_bucket == 0 ? 1 : (rank - static_cast<double>(below)) / static_cast<double>(in_bucket);
      return lower_bound + (bucket.upper_bound - lower_bound) * fraction;
    }
    lower_bound = bucket.upper_bound;
    below = bucket.cumulative_count;
  }
  return lower_bound;
}

// The cluster broker's traffic: what a node receives, and how much of it no
// local socket wanted (zero by design: a node subscribes only to its rooms).
void AddBrokerFamilies(const base::Counters& c, std::vector<MetricFamily>& families) {
  auto add = [&](std::string name, std::string help, MetricType type,
                 const std::atomic<uint64_t>& value) {
    MetricFamily family = Family(std::move(name), std::move(help), type);
    AddSample(family, Load(value));
    families.push_back(std::move(family));
  };
  add("roomcast_redis_messages_received_total",
      "Messages from Redis: other nodes' events, emitter broadcasts, requests (not this node's own "
      "events coming back).",
      MetricType::Counter, c.broker_messages);
  add("roomcast_redis_messages_unused_total",
      "Events received from Redis that no socket of this node was a recipient of.",
      MetricType::Counter, c.broker_messages_unused);
  add("roomcast_redis_received_bytes_total",
      "Channel and payload bytes of every message from Redis (own events coming back included).",
      MetricType::Counter, c.broker_bytes_received);
  add("roomcast_redis_sent_bytes_total", "Bytes of the events this node published.",
      MetricType::Counter, c.broker_bytes_sent);
  add("roomcast_redis_reconnects_total", "Connections to Redis made again after one was lost.",
      MetricType::Counter, c.broker_reconnects);
  add("roomcast_redis_publish_failures_total",
      "Emits refused because Redis could not log and publish them.", MetricType::Counter,
      c.broker_publish_failures);
  add("roomcast_redis_subscriptions",
      "Namespaces and rooms this node receives traffic for (it has members in them).",
      MetricType::Gauge, c.broker_subscriptions);
}

// ROOMCAST_JWKS_URL: an alert on failures growing catches an identity
// provider unreachable before its keys rotate away from the cached ones.
void AddJwksFamilies(const base::Counters& c, std::vector<MetricFamily>& families) {
  MetricFamily fetches =
      Family("roomcast_jwks_fetches_total",
             "JWKS fetches, by outcome (a failed one keeps the old keys).", MetricType::Counter);
  AddSample(fetches, Load(c.jwks_fetches), {{"outcome", "ok"}});
  AddSample(fetches, Load(c.jwks_fetch_failures), {{"outcome", "failed"}});
  families.push_back(std::move(fetches));
  MetricFamily keys =
      Family("roomcast_jwks_keys", "Signature keys from the JWKS in use.", MetricType::Gauge);
  AddSample(keys, Load(c.jwks_keys));
  families.push_back(std::move(keys));
}

// TLS reloads: an error is a bad certificate or key put in place (the old
// pair stays in use until a good one comes).
void AddTlsFamilies(const base::Counters& c, std::vector<MetricFamily>& families) {
  MetricFamily reloads =
      Family("roomcast_tls_reloads_total", "TLS files re-read with new contents, by result.",
             MetricType::Counter);
  AddSample(reloads, Load(c.tls_reloads), {{"result", "ok"}});
  AddSample(reloads, Load(c.tls_reload_failures), {{"result", "error"}});
  families.push_back(std::move(reloads));
}

}  // namespace

Metrics::Metrics(const base::Counters& counters)
    : counters_(counters), registry_(std::make_shared<prometheus::Registry>()) {
  emit_latency_ = &prometheus::BuildHistogram()
                       .Name("roomcast_emit_latency_seconds")
                       .Help("Time from accepting an emit to every local socket having it queued.")
                       .Register(*registry_)
                       .Add({}, kLatencyBuckets);
  control_calls_ = &prometheus::BuildCounter()
                        .Name("roomcast_control_calls_total")
                        .Help(
                            "Control calls that passed the API key check, by the key's name "
                            "(\"none\" when no key is required) and method.")
                        .Register(*registry_);
}

void Metrics::CountControlCall(const std::string& key_name, std::string_view method) {
  control_calls_
      ->Add({{"key", key_name.empty() ? "none" : key_name}, {"method", std::string(method)}})
      .Increment();
}

void Metrics::ObserveEmitLatency(std::chrono::steady_clock::duration latency) {
  emit_latency_->Observe(std::chrono::duration<double>(latency).count());
}

LatencyQuantiles Metrics::EmitLatency() const {
  const ClientMetric::Histogram histogram = emit_latency_->Collect().histogram;
  return LatencyQuantiles{histogram.sample_count, Quantile(histogram, 0.5) * 1000,
                          Quantile(histogram, 0.9) * 1000, Quantile(histogram, 0.99) * 1000};
}

std::string Metrics::Scrape() const {
  const base::Counters& c = counters_;
  std::vector<MetricFamily> families = registry_->Collect();

  MetricFamily sockets =
      Family("roomcast_sockets_connected", "Socket.IO sockets connected now.", MetricType::Gauge);
  AddSample(sockets, Load(c.sockets_connected) - Load(c.sockets_disconnected));
  MetricFamily sessions =
      Family("roomcast_sessions_open", "Engine.IO sessions (browser connections) open now.",
             MetricType::Gauge);
  AddSample(sessions, Load(c.sessions_opened) - Load(c.sessions_closed));
  MetricFamily emits =
      Family("roomcast_emits_total", "Emits accepted, by the transport that carried them.",
             MetricType::Counter);
  AddSample(emits, Load(c.emits_via_grpc), {{"transport", "grpc"}});
  AddSample(emits, Load(c.emits_via_http), {{"transport", "http"}});
  AddSample(emits, Load(c.emits) - Load(c.emits_via_grpc) - Load(c.emits_via_http),
            {{"transport", "socket"}});
  MetricFamily deliveries =
      Family("roomcast_deliveries_total", "Packets queued for a socket.", MetricType::Counter);
  AddSample(deliveries, Load(c.deliveries));
  MetricFamily drops =
      Family("roomcast_drops_total", "Packets not delivered, by reason.", MetricType::Counter);
  AddSample(drops, Load(c.dropped_volatile), {{"reason", "volatile"}});
  AddSample(drops, Load(c.slow_consumer_disconnects), {{"reason", "slow_consumer"}});
  MetricFamily protocol_errors =
      Family("roomcast_protocol_errors_total", "Sessions closed for breaking the protocol.",
             MetricType::Counter);
  AddSample(protocol_errors, Load(c.protocol_errors));
  MetricFamily client_events =
      Family("roomcast_client_events_total", "Events browsers sent.", MetricType::Counter);
  AddSample(client_events, Load(c.client_events));
  MetricFamily unavailable = Family("roomcast_client_events_unavailable_total",
                                    "Browser events no service takes.", MetricType::Counter);
  AddSample(unavailable, Load(c.client_events_unavailable));
  MetricFamily routed = Family("roomcast_client_events_routed_total",
                               "Browser events handed to a service's stream.", MetricType::Counter);
  AddSample(routed, Load(c.client_events_routed));
  MetricFamily acks = Family("roomcast_client_acks_total", "Browsers' acks a service answered.",
                             MetricType::Counter);
  AddSample(acks, Load(c.client_acks));
  MetricFamily acks_timed_out =
      Family("roomcast_client_acks_timed_out_total", "Browsers' acks no service answered in time.",
             MetricType::Counter);
  AddSample(acks_timed_out, Load(c.client_acks_timed_out));
  MetricFamily streams_cut =
      Family("roomcast_client_event_streams_cut_total",
             "Client event streams ended for falling behind.", MetricType::Counter);
  AddSample(streams_cut, Load(c.client_event_streams_cut));
  MetricFamily webhook = Family("roomcast_webhook_requests_total",
                                "Client event webhook requests, by outcome.", MetricType::Counter);
  AddSample(webhook, Load(c.webhook_deliveries), {{"outcome", "delivered"}});
  AddSample(webhook, Load(c.webhook_failures), {{"outcome", "failed"}});
  AddSample(webhook, Load(c.webhook_retries), {{"outcome", "retried"}});
  AddSample(webhook, Load(c.webhook_refused), {{"outcome", "refused"}});
  MetricFamily key_reloads =
      Family("roomcast_api_keys_reloads_total",
             "API keys file re-reads after a change, by result (failed: the old keys stay).",
             MetricType::Counter);
  AddSample(key_reloads, Load(c.api_keys_reloads), {{"result", "ok"}});
  AddSample(key_reloads, Load(c.api_keys_reload_failures), {{"result", "failed"}});
  MetricFamily joins_refused =
      Family("roomcast_joins_refused_total",
             "Rooms a client asked to join and was refused, by reason.", MetricType::Counter);
  AddSample(joins_refused, Load(c.joins_forbidden), {{"reason", "forbidden"}});
  MetricFamily refused = Family("roomcast_limit_refusals_total",
                                "Requests refused by a limit, by limit.", MetricType::Counter);
  AddSample(refused, Load(c.connections_refused), {{"limit", "connections"}});
  AddSample(refused, Load(c.handshakes_throttled), {{"limit", "handshake_rate"}});
  AddSample(refused, Load(c.unattached_refused), {{"limit", "unattached_connections"}});
  AddSample(refused, Load(c.unattached_refused_per_ip),
            {{"limit", "unattached_connections_per_ip"}});
  AddSample(refused, Load(c.client_events_throttled), {{"limit", "client_event_rate"}});
  AddSample(refused, Load(c.emits_refused), {{"limit", "emit_size"}});
  MetricFamily timeouts = Family("roomcast_http_timeouts_total",
                                 "HTTP connections closed at a deadline, by stage (header: its "
                                 "headers too slow; idle: no next request).",
                                 MetricType::Counter);
  AddSample(timeouts, Load(c.header_timeouts), {{"stage", "header"}});
  AddSample(timeouts, Load(c.idle_timeouts), {{"stage", "idle"}});
  MetricFamily unattached =
      Family("roomcast_unattached_connections",
             "TCP connections not yet part of a session (see --max_unattached_connections).",
             MetricType::Gauge);
  AddSample(unattached, Load(c.unattached));
  MetricFamily connect_errors =
      Family("roomcast_connect_errors_total", "Namespace CONNECTs refused.", MetricType::Counter);
  AddSample(connect_errors, Load(c.connect_errors));
  MetricFamily recoveries = Family(
      "roomcast_recoveries_total",
      "Returning Socket.IO sessions (connection state recovery), by outcome.", MetricType::Counter);
  AddSample(recoveries, Load(c.sessions_recovered), {{"outcome", "recovered"}});
  AddSample(recoveries, Load(c.sessions_not_recovered), {{"outcome", "fresh"}});

  for (MetricFamily* family :
       {&sockets,         &sessions,      &emits,       &deliveries,     &drops,
        &protocol_errors, &client_events, &unavailable, &routed,         &acks,
        &acks_timed_out,  &streams_cut,   &webhook,     &key_reloads,    &joins_refused,
        &refused,         &timeouts,      &unattached,  &connect_errors, &recoveries}) {
    families.push_back(std::move(*family));
  }
  AddBrokerFamilies(c, families);
  AddJwksFamilies(c, families);
  AddTlsFamilies(c, families);
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace roomcast::observe
