#include "server/control/client_event_hub.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/base/clock.h"
#include "server/base/string_view.h"
#include "server/control/node_envelope.h"
#include "server/control/webhook_poster.h"

namespace roomcast::control {
namespace {

namespace json = boost::json;

constexpr std::string_view kAnnounce = "ClientEvents.Announce";
constexpr std::string_view kDeliver = "ClientEvents.Deliver";
constexpr std::string_view kAck = "ClientEvents.Ack";
constexpr std::string_view kUndelivered = "ClientEvents.Undelivered";
constexpr std::chrono::milliseconds kPeerTimeout{2000};

// The node that made event `id` ("<node>.<n>").
std::string_view Origin(std::string_view id) {
  const size_t dot = id.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : id.substr(0, dot);
}

std::shared_ptr<v1::ClientEvent> ToProto(core::ClientEvent&& event, std::string id,
                                         const std::string& node) {
  auto proto = std::make_shared<v1::ClientEvent>();
  proto->set_id(std::move(id));
  proto->set_namespace_(std::move(event.nsp));
  proto->set_event(std::move(event.name));
  proto->set_args_json(std::move(event.args_json));
  for (std::string& attachment : event.attachments) {
    proto->add_attachments(std::move(attachment));
  }
  proto->set_socket_id(std::move(event.socket_id));
  proto->set_user_id(std::move(event.user_id));
  proto->set_claims_json(std::move(event.claims_json));
  for (std::string& room : event.rooms) {
    proto->add_rooms(std::move(room));
  }
  proto->set_node_id(node);
  proto->set_wants_ack(event.wants_ack);
  proto->set_time_ms(event.time_ms);
  proto->set_kind(std::string(core::KindName(event.kind)));
  proto->set_reason(std::move(event.reason));
  proto->set_traceparent(std::move(event.traceparent));
  return proto;
}

json::object FilterJson(const ClientEventFilter& filter, uint64_t count) {
  json::array events;
  for (const std::string& event : filter.events) {
    events.emplace_back(event);
  }
  return json::object{{"nsp", filter.nsp},
                      {"group", filter.group},
                      {"events", std::move(events)},
                      {"lifecycle", filter.lifecycle},
                      {"count", count}};
}

}  // namespace

bool ClientEventFilter::Accepts(const v1::ClientEvent& event) const {
  if (event.namespace_() != nsp) {
    return false;
  }
  if (event.kind() != "event") {
    return lifecycle;  // Presence ignores the event names.
  }
  return events.empty() || events.contains(event.event());
}

ClientEventHub::ClientEventHub(Options options, core::Broker& broker, TimerThread& timers,
                               base::Counters& counters, WebhookPoster* webhook)
    : options_(std::move(options)),
      broker_(broker),
      timers_(timers),
      counters_(counters),
      webhook_(webhook) {}

ClientEventHub::~ClientEventHub() = default;

void ClientEventHub::Start() {
  if (options_.cluster) {
    Announce();
    ScheduleAnnounce();
  }
}

std::string ClientEventHub::NewEventId() {
  return absl::StrCat(options_.node_id, ".", ++next_event_);
}

uint64_t ClientEventHub::Add(ClientEventFilter filter,
                             std::shared_ptr<ClientEventConsumer> consumer) {
  uint64_t handle = 0;
  {
    std::lock_guard lock(mutex_);
    handle = ++next_handle_;
    if (filter.group.empty()) {
      filter.group = absl::StrCat("~", options_.node_id, ".", handle);
    }
    if (filter.lifecycle) {
      presence_streams_.fetch_add(1, std::memory_order_relaxed);
    }
    streams_.push_back(Stream{handle, std::move(filter), std::move(consumer)});
  }
  if (options_.cluster) {
    Announce();
  }
  return handle;
}

void ClientEventHub::Remove(uint64_t handle) {
  {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(streams_.begin(), streams_.end(),
                           [&](const Stream& stream) { return stream.handle == handle; });
    if (it == streams_.end()) {
      return;
    }
    if (it->filter.lifecycle) {
      presence_streams_.fetch_sub(1, std::memory_order_relaxed);
    }
    streams_.erase(it);
  }
  if (options_.cluster) {
    Announce();
  }
}

bool ClientEventHub::WantsPresence(std::string_view) const {
  return presence_streams_.load(std::memory_order_relaxed) > 0;
}

std::vector<ClientEventHub::Target> ClientEventHub::Route(const v1::ClientEvent& event) {
  struct Candidates {
    std::vector<const Stream*> local;
    std::vector<std::pair<const std::string*, uint64_t>> remote;  // node, streams
    uint64_t total = 0;
  };
  absl::flat_hash_map<std::string_view, Candidates> groups;
  for (const Stream& stream : streams_) {
    if (stream.filter.Accepts(event)) {
      Candidates& group = groups[stream.filter.group];
      group.local.push_back(&stream);
      ++group.total;
    }
  }
  for (const auto& [node, remote] : remote_) {
    for (const RemoteStreams& streams : remote.streams) {
      if (streams.count > 0 && streams.filter.Accepts(event)) {
        Candidates& group = groups[streams.filter.group];
        group.remote.emplace_back(&node, streams.count);
        group.total += streams.count;
      }
    }
  }
  std::vector<Target> targets;
  targets.reserve(groups.size());
  for (auto& [group, candidates] : groups) {
    uint64_t pick = next_in_group_[std::string(group)]++ % candidates.total;
    Target target;
    target.group = std::string(group);
    if (pick < candidates.local.size()) {
      target.local = candidates.local[pick]->consumer;
    } else {
      pick -= candidates.local.size();
      for (const auto& [node, count] : candidates.remote) {
        if (pick < count) {
          target.node = *node;
          break;
        }
        pick -= count;
      }
    }
    targets.push_back(std::move(target));
  }
  return targets;
}

void ClientEventHub::Offer(core::ClientEvent event, core::ClientAckDone done) {
  const bool is_event = event.kind == core::ClientEvent::Kind::kEvent;
  if (!is_event) {
    done = nullptr;  // Presence never waits for an answer.
  }
  event.wants_ack = done != nullptr;
  std::vector<Target> targets;
  std::shared_ptr<const v1::ClientEvent> proto;
  bool draining = false;
  {
    std::lock_guard lock(mutex_);
    draining = draining_;
    if (!draining) {
      proto = ToProto(std::move(event), NewEventId(), options_.node_id);
      targets = Route(*proto);
      if (done && !targets.empty()) {
        pending_[proto->id()] =
            Pending{std::exchange(done, nullptr), static_cast<int>(targets.size())};
      }
    }
  }
  if (draining) {
    if (done) {
      std::move(done)(absl::UnavailableError("this node is draining: reconnect and retry"));
    }
    return;
  }
  if (targets.empty()) {
    if (is_event && webhook_ != nullptr) {
      webhook_->Post(std::move(proto), std::move(done));
      return;
    }
    if (is_event) {
      base::Counters::Bump(counters_.client_events_unavailable);
    }
    if (done) {
      std::move(done)(
          absl::UnavailableError(absl::StrCat("no service receives '", proto->event(), "'")));
    }
    return;
  }
  base::Counters::Bump(counters_.client_events_routed);
  if (proto->wants_ack()) {
    timers_.RunAt(TimerThread::Clock::now() + options_.ack_timeout,
                  [this, id = proto->id()] { Expire(id); });
  }
  for (const Target& target : targets) {
    Forward(target, proto);
  }
}

void ClientEventHub::Forward(const Target& target,
                             const std::shared_ptr<const v1::ClientEvent>& event) {
  if (target.local) {
    if (!target.local->Push(event)) {
      base::Counters::Bump(counters_.client_events_unavailable);
      if (event->wants_ack()) {
        Undelivered(event->id());
      }
    }
    return;
  }
  broker_.AskNode(
      target.node,
      NodeEnvelope(kDeliver,
                   absl::StrCat(target.group, std::string(1, '\0'), event->SerializeAsString())),
      kPeerTimeout,
      [this, id = event->id(),
       wants_ack = event->wants_ack()](absl::StatusOr<std::vector<std::string>> answers) {
        const bool delivered = answers.ok() && !answers->empty() && answers->front() == "1";
        if (!delivered) {
          base::Counters::Bump(counters_.client_events_unavailable);
          if (wants_ack) {
            Undelivered(id);
          }
        }
      });
}

void ClientEventHub::Dropped(const v1::ClientEvent& event) {
  base::Counters::Bump(counters_.client_events_unavailable);
  if (!event.wants_ack()) {
    return;
  }
  if (event.node_id() == options_.node_id || !options_.cluster) {
    Undelivered(event.id());
    return;
  }
  // Lost if that node is gone too: its browser's socket went with it.
  broker_.AskNode(event.node_id(), NodeEnvelope(kUndelivered, event.id()), kPeerTimeout,
                  [](const absl::StatusOr<std::vector<std::string>>&) {});
}

void ClientEventHub::Undelivered(const std::string& id) {
  core::ClientAckDone done;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(id);
    if (it == pending_.end() || !it->second.done || --it->second.deliveries > 0) {
      return;
    }
    done = std::move(it->second.done);
  }
  std::move(done)(absl::UnavailableError("the service's stream went away"));
}

void ClientEventHub::Expire(const std::string& id) {
  core::ClientAckDone done;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(id);
    if (it == pending_.end()) {
      return;
    }
    done = std::move(it->second.done);
    pending_.erase(it);  // An answered id is remembered until here.
  }
  if (done) {
    base::Counters::Bump(counters_.client_acks_timed_out);
    std::move(done)(absl::DeadlineExceededError(
        absl::StrCat("no service answered within ", options_.ack_timeout.count(), " ms")));
  }
}

absl::Status ClientEventHub::Complete(const std::string& id,
                                      absl::StatusOr<std::string> args_json) {
  core::ClientAckDone done;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(id);
    if (it == pending_.end()) {
      return absl::NotFoundError(
          absl::StrCat("client event '", id, "' is unknown, expired or wants no ack"));
    }
    if (!it->second.done) {
      return absl::FailedPreconditionError(
          absl::StrCat("client event '", id, "' was answered already"));
    }
    done = std::move(it->second.done);
  }
  base::Counters::Bump(counters_.client_acks);
  std::move(done)(std::move(args_json));
  return absl::OkStatus();
}

void ClientEventHub::Ack(const std::string& id, std::string args_json,
                         absl::AnyInvocable<void(absl::Status) &&> done) {
  const std::string_view origin = Origin(id);
  if (origin == options_.node_id || !options_.cluster || origin.empty()) {
    std::move(done)(Complete(id, std::move(args_json)));
    return;
  }
  broker_.AskNode(
      std::string(origin), NodeEnvelope(kAck, absl::StrCat(id, std::string(1, '\0'), args_json)),
      kPeerTimeout,
      [id, done = std::move(done)](absl::StatusOr<std::vector<std::string>> answers) mutable {
        if (!answers.ok() || answers->empty()) {
          std::move(done)(absl::UnavailableError(
              absl::StrCat("the node of client event '", id, "' did not answer: retry")));
          return;
        }
        const std::string& answer = answers->front();
        if (answer == "ok") {
          std::move(done)(absl::OkStatus());
        } else if (answer == "answered") {
          std::move(done)(absl::FailedPreconditionError(
              absl::StrCat("client event '", id, "' was answered already")));
        } else {
          std::move(done)(absl::NotFoundError(
              absl::StrCat("client event '", id, "' is unknown, expired or wants no ack")));
        }
      });
}

void ClientEventHub::Drain() {
  std::vector<core::ClientAckDone> waiting;
  std::vector<std::shared_ptr<ClientEventConsumer>> consumers;
  {
    std::lock_guard lock(mutex_);
    draining_ = true;
    for (auto& [id, pending] : pending_) {
      if (pending.done) {
        waiting.push_back(std::move(pending.done));
      }
    }
    for (const Stream& stream : streams_) {
      consumers.push_back(stream.consumer);
    }
  }
  for (core::ClientAckDone& done : waiting) {
    std::move(done)(absl::UnavailableError("this node is draining: reconnect and retry"));
  }
  for (const auto& consumer : consumers) {
    consumer->End(absl::UnavailableError("this node is draining: reconnect to another"));
  }
}

bool ClientEventHub::Handles(std::string_view method) {
  return method == kAnnounce || method == kDeliver || method == kAck || method == kUndelivered;
}

void ClientEventHub::AnswerNode(std::string_view method, std::string body,
                                absl::AnyInvocable<void(std::string) &&> answer) {
  if (method == kAnnounce) {
    Heard(body);
    std::move(answer)(Registrations());  // So a newcomer learns ours at once.
    return;
  }
  if (method == kUndelivered) {
    Undelivered(body);
    std::move(answer)("ok");
    return;
  }
  const size_t split = body.find('\0');
  if (split == std::string::npos) {
    std::move(answer)(std::string());
    return;
  }
  if (method == kAck) {
    absl::Status status = Complete(body.substr(0, split), body.substr(split + 1));
    std::move(answer)(status.ok()                          ? "ok"
                      : absl::IsFailedPrecondition(status) ? "answered"
                                                           : "unknown");
    return;
  }
  // kDeliver: to one of this node's streams of the group.
  const std::string group = body.substr(0, split);
  auto event = std::make_shared<v1::ClientEvent>();
  if (!event->ParseFromArray(body.data() + split + 1, static_cast<int>(body.size() - split - 1))) {
    std::move(answer)(std::string());
    return;
  }
  std::shared_ptr<ClientEventConsumer> consumer;
  {
    std::lock_guard lock(mutex_);
    std::vector<const Stream*> candidates;
    for (const Stream& stream : streams_) {
      if (stream.filter.group == group && stream.filter.Accepts(*event)) {
        candidates.push_back(&stream);
      }
    }
    if (!candidates.empty() && !draining_) {
      consumer = candidates[next_in_group_[group]++ % candidates.size()]->consumer;
    }
  }
  const bool taken = consumer && consumer->Push(std::move(event));
  std::move(answer)(taken ? "1" : "");
}

std::string ClientEventHub::Registrations() const {
  std::lock_guard lock(mutex_);
  json::array streams;
  for (const Stream& stream : streams_) {
    streams.push_back(FilterJson(stream.filter, 1));
  }
  return json::serialize(json::object{{"node", options_.node_id}, {"streams", std::move(streams)}});
}

void ClientEventHub::Heard(std::string_view registrations) {
  boost::system::error_code error;
  json::value parsed = json::parse(registrations, error);
  const json::object* object = error ? nullptr : parsed.if_object();
  const json::value* node = object == nullptr ? nullptr : object->if_contains("node");
  const json::value* streams = object == nullptr ? nullptr : object->if_contains("streams");
  if (node == nullptr || !node->is_string() || streams == nullptr || !streams->is_array() ||
      node->as_string() == options_.node_id) {
    return;
  }
  RemoteNode remote;
  remote.heard = TimerThread::Clock::now();
  for (const json::value& item : streams->as_array()) {
    const json::object* stream = item.if_object();
    if (stream == nullptr) {
      continue;
    }
    RemoteStreams entry;
    const json::value* nsp = stream->if_contains("nsp");
    const json::value* group = stream->if_contains("group");
    const json::value* events = stream->if_contains("events");
    const json::value* lifecycle = stream->if_contains("lifecycle");
    if (nsp == nullptr || !nsp->is_string() || group == nullptr || !group->is_string()) {
      continue;
    }
    entry.filter.nsp = std::string(nsp->as_string());
    entry.filter.group = std::string(group->as_string());
    entry.filter.lifecycle = lifecycle != nullptr && lifecycle->is_bool() && lifecycle->get_bool();
    if (events != nullptr && events->is_array()) {
      for (const json::value& event : events->as_array()) {
        if (event.is_string()) {
          entry.filter.events.emplace(event.as_string());
        }
      }
    }
    entry.count = 1;
    remote.streams.push_back(std::move(entry));
  }
  std::lock_guard lock(mutex_);
  auto& slot = remote_[std::string(node->as_string())];
  int64_t presence_change = 0;
  for (const RemoteStreams& old : slot.streams) {
    presence_change -= old.filter.lifecycle ? 1 : 0;
  }
  for (const RemoteStreams& now : remote.streams) {
    presence_change += now.filter.lifecycle ? 1 : 0;
  }
  presence_streams_.fetch_add(static_cast<uint64_t>(presence_change), std::memory_order_relaxed);
  slot = std::move(remote);
}

void ClientEventHub::Announce() {
  broker_.AskOthersWithin(NodeEnvelope(kAnnounce, Registrations()), kPeerTimeout,
                          [this](absl::StatusOr<std::vector<std::string>> answers) {
                            if (answers.ok()) {
                              for (const std::string& answer : *answers) {
                                Heard(answer);
                              }
                            }
                          });
}

void ClientEventHub::ScheduleAnnounce() {
  timers_.RunAt(TimerThread::Clock::now() + options_.announce_interval, [this] {
    {
      // Forget the nodes gone quiet (stopped, or killed).
      std::lock_guard lock(mutex_);
      const auto cutoff = TimerThread::Clock::now() - 3 * options_.announce_interval;
      for (auto it = remote_.begin(); it != remote_.end();) {
        if (it->second.heard < cutoff) {
          for (const RemoteStreams& streams : it->second.streams) {
            if (streams.filter.lifecycle) {
              presence_streams_.fetch_sub(1, std::memory_order_relaxed);
            }
          }
          remote_.erase(it++);
        } else {
          ++it;
        }
      }
    }
    Announce();
    ScheduleAnnounce();
  });
}

bool ClientEventHub::draining() const {
  std::lock_guard lock(mutex_);
  return draining_;
}

ClientEventHub::Stats ClientEventHub::stats() const {
  std::lock_guard lock(mutex_);
  Stats stats;
  stats.streams = streams_.size();
  for (const auto& [node, remote] : remote_) {
    for (const RemoteStreams& streams : remote.streams) {
      stats.remote_streams += streams.count;
    }
  }
  for (const auto& [id, pending] : pending_) {
    stats.pending_acks += pending.done ? 1 : 0;
  }
  return stats;
}

}  // namespace roomcast::control
