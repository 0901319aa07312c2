#include "server/control/api.h"

#include <algorithm>

#include <google/protobuf/util/json_util.h>
#include <boost/json.hpp>

#include "absl/strings/str_cat.h"
#include "server/base/string_view.h"
#include "server/control/request_checks.h"

namespace roomcast::control {
namespace {

// The event's argument as JSON text, from `data` (a protobuf Value) or
// `data_json` (checked to be one JSON value, then sent as is).
absl::StatusOr<std::string> ArgumentJson(const v1::EmitRequest& request) {
  switch (request.payload_case()) {
    case v1::EmitRequest::kData: {
      std::string json;
      auto status = google::protobuf::util::MessageToJsonString(request.data(), &json);
      if (!status.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("data: ", status.message().as_string()));
      }
      return json;
    }
    case v1::EmitRequest::kDataJson: {
      boost::system::error_code ec;
      boost::json::parse(request.data_json(), ec);
      if (ec) {
        return absl::InvalidArgumentError(absl::StrCat("dataJson is not JSON: ", ec.message()));
      }
      return request.data_json();
    }
    case v1::EmitRequest::PAYLOAD_NOT_SET:
      return std::string();
  }
  return std::string();
}

absl::StatusOr<core::EmitRequest> ToCoreRequest(const v1::EmitRequest& request) {
  core::EmitRequest out;
  out.nsp = request.namespace_().empty() ? "/" : request.namespace_();
  if (!request.room().empty()) {
    out.rooms.push_back(request.room());
  }
  out.rooms.insert(out.rooms.end(), request.rooms().begin(), request.rooms().end());
  if (absl::Status status = ValidateRooms(out.rooms, "rooms"); !status.ok()) {
    return status;
  }
  if (absl::Status status = ValidateRooms(request.except_rooms(), "exceptRooms"); !status.ok()) {
    return status;
  }
  out.except.assign(request.except_rooms().begin(), request.except_rooms().end());
  out.event = request.event();
  absl::StatusOr<std::string> args = ArgumentJson(request);
  if (!args.ok()) {
    return args.status();
  }
  out.args_json = *std::move(args);
  out.is_volatile = request.volatile_();
  if (absl::Status status = core::Emitter::Validate(out); !status.ok()) {
    return status;
  }
  return out;
}

v1::EmitResponse ResponseOf(const core::EmitResult& result) {
  v1::EmitResponse response;
  response.set_recipients(result.recipients);
  response.set_offset(result.offset);
  response.set_epoch(result.epoch);
  response.set_duplicate(result.duplicate);
  return response;
}

void SetResult(v1::EmitBatchResult& item, const absl::StatusOr<v1::EmitResponse>& result) {
  if (result.ok()) {
    *item.mutable_emitted() = *result;
  } else {
    item.mutable_error()->set_code(absl::StatusCodeToString(result.status().code()));
    item.mutable_error()->set_message(std::string(ToStd(result.status().message())));
  }
}

}  // namespace

absl::StatusOr<core::EmitRequest> ControlApi::CheckedCoreRequest(const v1::EmitRequest& request) {
  if (absl::StatusOr<std::string> nsp = KnownNamespace(parts_.namespaces, request.namespace_());
      !nsp.ok()) {
    return nsp.status();
  }
  absl::StatusOr<core::EmitRequest> emit = ToCoreRequest(request);
  if (emit.ok() && emit->args_json.size() > parts_.max_emit_bytes) {
    base::Counters::Bump(parts_.counters.emits_refused);
    emit = absl::InvalidArgumentError(absl::StrCat("data is ", emit->args_json.size(),
                                                   " bytes, more than the limit of ",
                                                   parts_.max_emit_bytes));
  }
  return emit;
}

void ControlApi::Emit(const v1::EmitRequest& request, Caller caller,
                      Reply<v1::EmitResponse> reply) {
  absl::StatusOr<core::EmitRequest> emit = CheckedCoreRequest(request);
  if (!emit.ok()) {
    std::move(reply)(emit.status());
    return;
  }
  const std::string& key = request.idempotency_key();
  if (!key.empty()) {
    auto shared_reply = std::make_shared<Reply<v1::EmitResponse>>(std::move(reply));
    const bool first_time = parts_.idempotency.Claim(
        emit->nsp, key, [shared_reply](std::optional<IdempotencyCache::Result> first) {
          if (!first) {
            std::move (*shared_reply)(
                absl::AbortedError("the first emit with this idempotency key failed; retry"));
            return;
          }
          v1::EmitResponse response;
          response.set_duplicate(true);
          response.set_recipients(first->recipients);
          response.set_offset(first->offset);
          response.set_epoch(first->epoch);
          std::move (*shared_reply)(response);
        });
    if (!first_time) {
      return;
    }
    reply = [shared_reply](absl::StatusOr<v1::EmitResponse> result) {
      std::move (*shared_reply)(std::move(result));
    };
  }
  // The broker holds keys cluster-wide (a repeat on another node is one too).
  emit->idempotency_key = key;
  base::Counters::Bump(caller == Caller::kGrpc ? parts_.counters.emits_via_grpc
                                               : parts_.counters.emits_via_http);
  const auto started = std::chrono::steady_clock::now();
  std::string nsp = emit->nsp;
  parts_.emitter.Emit(*std::move(emit), [this, started, nsp = std::move(nsp), key,
                                         reply = std::move(reply)](
                                            absl::StatusOr<core::EmitResult> result) mutable {
    parts_.metrics.ObserveEmitLatency(std::chrono::steady_clock::now() - started);
    if (!result.ok()) {
      if (!key.empty()) {
        parts_.idempotency.Release(nsp, key);
      }
      std::move(reply)(result.status());
      return;
    }
    if (!key.empty()) {
      parts_.idempotency.Complete(nsp, key, {result->recipients, result->offset, result->epoch});
    }
    std::move(reply)(ResponseOf(*result));
  });
}

void ControlApi::EmitBatch(const v1::EmitBatchRequest& request, Caller caller,
                           Reply<v1::EmitBatchResponse> reply) {
  struct Batch {
    explicit Batch(size_t n, Reply<v1::EmitBatchResponse> reply)
        : remaining(n), reply(std::move(reply)) {
      for (size_t i = 0; i < n; ++i) {
        response.add_results();
      }
    }
    v1::EmitBatchResponse response;
    std::atomic<size_t> remaining;
    Reply<v1::EmitBatchResponse> reply;
  };
  if (request.emits().empty()) {
    std::move(reply)(v1::EmitBatchResponse());
    return;
  }
  if (static_cast<size_t>(request.emits_size()) > parts_.max_batch_size) {
    base::Counters::Bump(parts_.counters.emits_refused);
    std::move(reply)(absl::InvalidArgumentError(absl::StrCat(
        "a batch holds at most ", parts_.max_batch_size, " emits, not ", request.emits_size())));
    return;
  }
  const bool keyed =
      std::any_of(request.emits().begin(), request.emits().end(),
                  [](const v1::EmitRequest& emit) { return !emit.idempotency_key().empty(); });
  if (!keyed) {
    EmitAll(request, caller, std::move(reply));
    return;
  }
  auto batch = std::make_shared<Batch>(request.emits_size(), std::move(reply));
  // Emitted one after another without waiting: each shard runs them in this order.
  for (int i = 0; i < request.emits_size(); ++i) {
    Emit(request.emits(i), caller, [batch, i](const absl::StatusOr<v1::EmitResponse>& result) {
      SetResult(*batch->response.mutable_results(i), result);
      if (batch->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::move(batch->reply)(std::move(batch->response));
      }
    });
  }
}

// A batch without idempotency keys: one trip to each shard for all of it.
void ControlApi::EmitAll(const v1::EmitBatchRequest& request, Caller caller,
                         Reply<v1::EmitBatchResponse> reply) {
  v1::EmitBatchResponse response;
  std::vector<core::EmitRequest> emits;
  std::vector<int> positions;  // of each emit in the response
  for (int i = 0; i < request.emits_size(); ++i) {
    v1::EmitBatchResult& item = *response.add_results();
    absl::StatusOr<core::EmitRequest> emit = CheckedCoreRequest(request.emits(i));
    if (!emit.ok()) {
      SetResult(item, emit.status());
      continue;
    }
    emits.push_back(*std::move(emit));
    positions.push_back(i);
  }
  base::Counters::Bump(
      caller == Caller::kGrpc ? parts_.counters.emits_via_grpc : parts_.counters.emits_via_http,
      emits.size());
  const auto started = std::chrono::steady_clock::now();
  parts_.emitter.EmitAll(
      std::move(emits),
      [this, started, response = std::move(response), positions = std::move(positions),
       reply = std::move(reply)](std::vector<absl::StatusOr<core::EmitResult>> results) mutable {
        const auto latency = std::chrono::steady_clock::now() - started;
        for (size_t i = 0; i < results.size(); ++i) {
          parts_.metrics.ObserveEmitLatency(latency);
          v1::EmitBatchResult& item = *response.mutable_results(positions[i]);
          if (!results[i].ok()) {
            SetResult(item, results[i].status());
            continue;
          }
          *item.mutable_emitted() = ResponseOf(*results[i]);
        }
        std::move(reply)(std::move(response));
      });
}

void ControlApi::SendTestEvent(const v1::SendTestEventRequest& request, Caller caller,
                               Reply<v1::SendTestEventResponse> reply) {
  if (request.test_room().empty()) {
    std::move(reply)(absl::InvalidArgumentError("testRoom is required"));
    return;
  }
  v1::EmitRequest emit;
  emit.set_namespace_(request.namespace_());
  emit.set_room(request.test_room());
  emit.set_event(request.test_event().empty() ? "test-event" : request.test_event());
  if (request.has_test_data()) {
    *emit.mutable_data() = request.test_data();
  }
  Emit(emit, caller,
       [room = emit.room(), event = emit.event(),
        reply = std::move(reply)](absl::StatusOr<v1::EmitResponse> result) mutable {
         if (!result.ok()) {
           std::move(reply)(result.status());
           return;
         }
         v1::SendTestEventResponse response;
         response.set_success(true);
         response.set_recipients(result->recipients());
         response.set_room(room);
         response.set_event(event);
         std::move(reply)(response);
       });
}

}  // namespace roomcast::control
