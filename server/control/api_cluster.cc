// The management calls act on the whole cluster: each runs on this node,
// then rides the broker to every other node, which runs the same call on its
// own sockets and answers with the serialized response.
#include "absl/strings/str_cat.h"
#include "server/base/string_view.h"
#include "server/control/admin_hub.h"
#include "server/control/api.h"
#include "server/control/call_log.h"
#include "server/control/node_envelope.h"
#include "server/control/paging.h"

namespace roomcast::control {
namespace {

void Merge(v1::ChangeRoomsResponse& into, const v1::ChangeRoomsResponse& from) {
  into.set_sockets(into.sockets() + from.sockets());
}
void Merge(v1::DisconnectSocketsResponse& into, const v1::DisconnectSocketsResponse& from) {
  into.set_sockets(into.sockets() + from.sockets());
}
void Merge(v1::ListRoomSocketsResponse& into, const v1::ListRoomSocketsResponse& from) {
  for (const v1::SocketInfo& socket : from.sockets()) {
    *into.add_sockets() = socket;
  }
  if (!from.next_page_token().empty()) {
    into.set_next_page_token(from.next_page_token());  // That node has more.
  }
}

template <typename Request, typename Response>
void Finish(const Request&, Response&) {}
void Finish(const v1::ListRoomSocketsRequest& request, v1::ListRoomSocketsResponse& response) {
  TrimToPage(response, PageSize(request.page_size()));
}

}  // namespace

template <typename Request, typename Response>
void ControlApi::Everywhere(std::string_view method, const Request& request,
                            Here<Request, Response> here, Reply<Response> reply) {
  (this->*here)(
      request, [this, request, envelope = NodeEnvelope(method, request.SerializeAsString()),
                reply = std::move(reply)](absl::StatusOr<Response> local) mutable {
        if (!local.ok()) {
          std::move(reply)(local.status());  // Invalid here is invalid everywhere.
          return;
        }
        parts_.broker.AskOthers(
            std::move(envelope),
            [request = std::move(request), local = *std::move(local),
             reply = std::move(reply)](absl::StatusOr<std::vector<std::string>> answers) mutable {
              if (!answers.ok()) {
                std::move(reply)(absl::UnavailableError(
                    absl::StrCat("done on this node only; the other nodes could not be asked: ",
                                 answers.status().message())));
                return;
              }
              for (const std::string& answer : *answers) {
                Response other;
                if (other.ParseFromString(answer)) {
                  Merge(local, other);
                }
              }
              Finish(request, local);
              std::move(reply)(std::move(local));
            });
      });
}

void ControlApi::JoinRooms(const v1::ChangeRoomsRequest& request, Caller,
                           Reply<v1::ChangeRoomsResponse> reply) {
  Everywhere("JoinRooms", request, &ControlApi::JoinRoomsHere, std::move(reply));
}

void ControlApi::LeaveRooms(const v1::ChangeRoomsRequest& request, Caller,
                            Reply<v1::ChangeRoomsResponse> reply) {
  Everywhere("LeaveRooms", request, &ControlApi::LeaveRoomsHere, std::move(reply));
}

void ControlApi::DisconnectSockets(const v1::DisconnectSocketsRequest& request, Caller,
                                   Reply<v1::DisconnectSocketsResponse> reply) {
  Everywhere("DisconnectSockets", request, &ControlApi::DisconnectSocketsHere, std::move(reply));
}

void ControlApi::ListRoomSockets(const v1::ListRoomSocketsRequest& request, Caller,
                                 Reply<v1::ListRoomSocketsResponse> reply) {
  Everywhere("ListRoomSockets", request, &ControlApi::ListRoomSocketsHere, std::move(reply));
}

void ControlApi::AnswerNode(const std::string& request,
                            absl::AnyInvocable<void(std::string) &&> answer) {
  const NodeCall call = OpenNodeEnvelope(request);
  const std::string_view method = call.method;
  const std::string body(call.body);
  if (call.trace) {
    LogNodeCall(method, *call.trace);
  }
  // The call starts within the caller's trace, as it did on the node it came to.
  const ScopedTrace traced(call.trace);
  auto run = [&]<typename Request, typename Response>(Here<Request, Response> here) {
    Request parsed;
    if (!parsed.ParseFromString(body)) {
      std::move(answer)(std::string());
      return;
    }
    (this->*here)(parsed, [answer = std::move(answer)](absl::StatusOr<Response> result) mutable {
      // A refusal answers nothing: the asking node refused the same already.
      std::move(answer)(result.ok() ? result->SerializeAsString() : std::string());
    });
  };
  if (method == "JoinRooms") {
    run(&ControlApi::JoinRoomsHere);
  } else if (method == "LeaveRooms") {
    run(&ControlApi::LeaveRoomsHere);
  } else if (method == "DisconnectSockets") {
    run(&ControlApi::DisconnectSocketsHere);
  } else if (method == "ListRoomSockets") {
    run(&ControlApi::ListRoomSocketsHere);
  } else if (method == "EmitWithAck") {
    run(&ControlApi::EmitWithAckHere);
  } else if (admin_ != nullptr && AdminHub::Handles(method)) {
    admin_->AnswerNode(method, body, std::move(answer));
  } else if (ClientEventHub::Handles(method)) {
    parts_.client_events.AnswerNode(method, body, std::move(answer));
  } else {
    std::move(answer)(std::string());  // A newer node's call: nothing here to do.
  }
}

}  // namespace roomcast::control
