// Browsers talking back: their acks answered by services, and services
// asking browsers (EmitWithAck) on every node.
#include <mutex>
#include <optional>

#include <google/protobuf/util/json_util.h>
#include <boost/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "server/base/string_view.h"
#include "server/control/api.h"
#include "server/control/call_log.h"
#include "server/control/node_envelope.h"
#include "server/control/request_checks.h"

namespace roomcast::control {
namespace {

namespace json = boost::json;

constexpr uint32_t kDefaultAskTimeoutMs = 5000;
constexpr uint32_t kMaxAskTimeoutMs = 300000;
// Other nodes answer after their own wait: this much later is "no answer".
constexpr std::chrono::milliseconds kNodeMargin{1000};

// The ack's arguments as a JSON array, from `args` or `args_json`.
absl::StatusOr<std::string> AckArguments(const v1::AckClientEventRequest& request) {
  switch (request.answer_case()) {
    case v1::AckClientEventRequest::kArgs: {
      std::string text;
      auto status = google::protobuf::util::MessageToJsonString(request.args(), &text);
      if (!status.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("args: ", status.message().as_string()));
      }
      return text;
    }
    case v1::AckClientEventRequest::kArgsJson: {
      boost::system::error_code error;
      json::value parsed = json::parse(request.args_json(), error);
      if (error || !parsed.is_array()) {
        return absl::InvalidArgumentError("argsJson must be a JSON array");
      }
      return request.args_json();
    }
    case v1::AckClientEventRequest::ANSWER_NOT_SET:
      break;
  }
  return std::string("[]");
}

// The emit EmitWithAck makes, as Emit would check it: one room stands for
// the target (a socket's id room, a room, a user's room).
absl::StatusOr<v1::EmitRequest> AsEmit(const v1::EmitWithAckRequest& request) {
  v1::EmitRequest emit;
  emit.set_namespace_(request.namespace_());
  switch (request.target_case()) {
    case v1::EmitWithAckRequest::kSocketId:
      emit.set_room(request.socket_id());
      break;
    case v1::EmitWithAckRequest::kRoom:
      emit.set_room(request.room());
      break;
    case v1::EmitWithAckRequest::kUserId:
      emit.set_room(absl::StrCat("user:", request.user_id()));
      break;
    case v1::EmitWithAckRequest::TARGET_NOT_SET:
      return absl::InvalidArgumentError("one of socketId, room or userId is required");
  }
  if (emit.room().empty()) {
    return absl::InvalidArgumentError("socketId, room or userId must not be empty");
  }
  if (request.timeout_ms() > kMaxAskTimeoutMs) {
    return absl::InvalidArgumentError(absl::StrCat("timeoutMs: at most ", kMaxAskTimeoutMs, " ms"));
  }
  emit.set_event(request.event());
  if (request.has_data()) {
    *emit.mutable_data() = request.data();
  } else if (request.payload_case() == v1::EmitWithAckRequest::kDataJson) {
    emit.set_data_json(request.data_json());
  }
  return emit;
}

std::chrono::milliseconds AskTimeout(const v1::EmitWithAckRequest& request) {
  return std::chrono::milliseconds(request.timeout_ms() == 0 ? kDefaultAskTimeoutMs
                                                             : request.timeout_ms());
}

void Merge(v1::EmitWithAckResponse& into, v1::EmitWithAckResponse&& from) {
  for (v1::AckReply& reply : *from.mutable_replies()) {
    *into.add_replies() = std::move(reply);
  }
  for (std::string& id : *from.mutable_timed_out()) {
    into.add_timed_out(std::move(id));
  }
}

}  // namespace

absl::StatusOr<ClientEventFilter> ControlApi::ClientEventFilterOf(
    const v1::ReceiveClientEventsRequest& request) const {
  absl::StatusOr<std::string> nsp = KnownNamespace(parts_.namespaces, request.namespace_());
  if (!nsp.ok()) {
    return nsp.status();
  }
  if (parts_.client_events.draining()) {
    return absl::UnavailableError("this node is draining: connect to another");
  }
  ClientEventFilter filter;
  filter.nsp = *std::move(nsp);
  for (const std::string& event : request.events()) {
    if (event.empty()) {
      return absl::InvalidArgumentError("events: an event name must not be empty");
    }
    filter.events.insert(event);
  }
  filter.group = request.group();
  filter.lifecycle = request.lifecycle();
  return filter;
}

void ControlApi::AckClientEvent(const v1::AckClientEventRequest& request, Caller,
                                Reply<v1::AckClientEventResponse> reply) {
  if (request.id().empty()) {
    std::move(reply)(absl::InvalidArgumentError("id: the client event's id is required"));
    return;
  }
  absl::StatusOr<std::string> args = AckArguments(request);
  if (args.ok() && args->size() > parts_.max_emit_bytes) {
    args = absl::InvalidArgumentError(absl::StrCat(
        "args are ", args->size(), " bytes, more than the limit of ", parts_.max_emit_bytes));
  }
  if (!args.ok()) {
    std::move(reply)(args.status());
    return;
  }
  parts_.client_events.Ack(request.id(), *std::move(args),
                           [reply = std::move(reply)](const absl::Status& status) mutable {
                             if (!status.ok()) {
                               std::move(reply)(status);
                               return;
                             }
                             std::move(reply)(v1::AckClientEventResponse());
                           });
}

void ControlApi::EmitWithAck(const v1::EmitWithAckRequest& request, Caller,
                             Reply<v1::EmitWithAckResponse> reply) {
  // Checked once here: the other nodes only run what passed.
  absl::StatusOr<v1::EmitRequest> emit = AsEmit(request);
  absl::Status status = emit.status();
  if (status.ok()) {
    status = CheckedCoreRequest(*emit).status();
  }
  if (!status.ok()) {
    std::move(reply)(status);
    return;
  }
  // Here and on the other nodes at once: each waits the whole timeout.
  struct Join {
    std::mutex mutex;
    v1::EmitWithAckResponse response;
    int remaining = 2;
    Reply<v1::EmitWithAckResponse> reply;
    void Add(v1::EmitWithAckResponse part) {
      std::unique_lock lock(mutex);
      Merge(response, std::move(part));
      if (--remaining == 0) {
        lock.unlock();
        std::move(reply)(std::move(response));
      }
    }
  };
  auto join = std::make_shared<Join>();
  join->reply = std::move(reply);
  parts_.broker.AskOthersWithin(
      NodeEnvelope("EmitWithAck", request.SerializeAsString()), AskTimeout(request) + kNodeMargin,
      [join](absl::StatusOr<std::vector<std::string>> answers) {
        v1::EmitWithAckResponse others;
        for (const std::string& answer : answers.ok() ? *answers : std::vector<std::string>{}) {
          v1::EmitWithAckResponse one;
          if (one.ParseFromString(answer)) {
            Merge(others, std::move(one));
          }
        }
        join->Add(std::move(others));
      });
  EmitWithAckHere(request, [join](absl::StatusOr<v1::EmitWithAckResponse> here) {
    join->Add(here.ok() ? *std::move(here) : v1::EmitWithAckResponse());
  });
}

void ControlApi::EmitWithAckHere(const v1::EmitWithAckRequest& request,
                                 Reply<v1::EmitWithAckResponse> reply) {
  absl::StatusOr<v1::EmitRequest> emit = AsEmit(request);
  absl::StatusOr<core::EmitRequest> checked =
      emit.ok() ? CheckedCoreRequest(*emit) : absl::StatusOr<core::EmitRequest>(emit.status());
  if (!checked.ok()) {
    std::move(reply)(checked.status());
    return;
  }
  // The answers as they come, on the sockets' shards; finished by the last
  // answer or the deadline, whichever is first.
  struct Asking {
    std::mutex mutex;
    bool finished = false;
    bool sent = false;                                   // Every shard has asked its sockets.
    absl::flat_hash_map<std::string, uint64_t> waiting;  // Socket id -> its ack id.
    v1::EmitWithAckResponse response;
    Reply<v1::EmitWithAckResponse> reply;
  };
  auto asking = std::make_shared<Asking>();
  asking->reply = std::move(reply);
  // Under the lock: the reply, when nothing is left to wait for.
  auto finish_if_done = [](Asking& state) -> std::optional<Reply<v1::EmitWithAckResponse>> {
    if (state.finished || !state.sent || !state.waiting.empty()) {
      return std::nullopt;
    }
    state.finished = true;
    return std::move(state.reply);
  };
  const std::string nsp = checked->nsp;
  const std::string room = checked->rooms.front();
  // Read here: the shards run the asking on their own threads.
  std::string trace = CurrentTrace() != nullptr ? CurrentTrace()->Child() : std::string();
  core::GatherFromShards<int>(
      parts_.shards,
      [asking, nsp, room, event = checked->event, arg = checked->args_json, finish_if_done,
       trace = std::move(trace)](core::RoomIndex& index) {
        for (core::Member* member : index.Select(nsp, {&room, 1}, {})) {
          const std::string id = member->id();
          if (!trace.empty()) {
            member->set_trace(trace);
          }
          const uint64_t ack =
              member->Ask(event, arg,
                          [asking, id, finish_if_done](const std::string& args_json,
                                                       std::vector<std::string> attachments) {
                            std::optional<Reply<v1::EmitWithAckResponse>> reply;
                            {
                              std::lock_guard lock(asking->mutex);
                              if (asking->finished || asking->waiting.erase(id) == 0) {
                                return;
                              }
                              v1::AckReply& answer = *asking->response.add_replies();
                              answer.set_socket_id(id);
                              // The codec gave valid JSON; a bad array stays empty.
                              (void)google::protobuf::util::JsonStringToMessage(
                                  args_json, answer.mutable_args());
                              for (std::string& attachment : attachments) {
                                answer.add_attachments(std::move(attachment));
                              }
                              reply = finish_if_done(*asking);
                            }
                            if (reply) {
                              std::move (*reply)(std::move(asking->response));
                            }
                          });
          std::lock_guard lock(asking->mutex);
          asking->waiting.emplace(id, ack);
        }
        return 0;
      },
      [asking, finish_if_done](const std::vector<int>&) {
        std::optional<Reply<v1::EmitWithAckResponse>> reply;
        {
          std::lock_guard lock(asking->mutex);
          asking->sent = true;
          reply = finish_if_done(*asking);
        }
        if (reply) {
          std::move (*reply)(std::move(asking->response));
        }
      });
  parts_.timers.RunAt(TimerThread::Clock::now() + AskTimeout(request), [this, asking, nsp]() {
    absl::flat_hash_map<std::string, uint64_t> late;
    Reply<v1::EmitWithAckResponse> reply;
    {
      std::lock_guard lock(asking->mutex);
      if (asking->finished) {
        return;
      }
      asking->finished = true;
      late = std::move(asking->waiting);
      for (const auto& [id, ack] : late) {
        asking->response.add_timed_out(id);
      }
      reply = std::move(asking->reply);
    }
    std::move(reply)(std::move(asking->response));
    // The sockets that did not answer stop waiting too.
    for (size_t shard = 0; shard < parts_.shards.size(); ++shard) {
      parts_.shards.Run(shard, [nsp, late](core::RoomIndex& index) {
        for (const auto& [id, ack] : late) {
          for (core::Member* member : index.Select(nsp, {&id, 1}, {})) {
            if (member->id() == id) {
              member->Forget(ack);
            }
          }
        }
      });
    }
  });
}

}  // namespace roomcast::control
