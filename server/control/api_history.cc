#include "server/control/api.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <boost/json.hpp>

#include "absl/strings/str_cat.h"
#include "server/codec/socketio_packet.h"
#include "server/control/request_checks.h"

namespace roomcast::control {
namespace {

constexpr uint32_t kDefaultHistoryLimit = 100;
constexpr uint32_t kMaxHistoryLimit = 1000;

// A logged event as History shows it: its name and arguments read back out
// of the packet it was sent as.
v1::HistoryEvent ToHistoryEvent(const core::Event& event) {
  v1::HistoryEvent out;
  out.set_offset(event.position.offset);
  out.set_epoch(event.position.epoch);
  out.mutable_rooms()->Assign(event.rooms.begin(), event.rooms.end());
  out.mutable_except_rooms()->Assign(event.except.begin(), event.except.end());
  *out.mutable_time() = google::protobuf::util::TimeUtil::MillisecondsToTimestamp(event.time_ms);
  // The packet is an Engine.IO message: `4` then the Socket.IO packet.
  const std::string& text = event.packet->text;
  absl::StatusOr<socketio::DecodedText> decoded =
      socketio::DecodeText(std::string_view(text).substr(std::min<size_t>(1, text.size())),
                           event.packet->attachments.size());
  if (!decoded.ok() || !decoded->packet.data || !decoded->packet.data->is_array()) {
    return out;
  }
  const boost::json::array& array = decoded->packet.data->get_array();
  if (!array.empty() && array.front().is_string()) {
    out.set_event(std::string(array.front().get_string()));
  }
  const boost::json::array args(array.begin() + (array.empty() ? 0 : 1), array.end());
  const std::string args_json = boost::json::serialize(args);
  if (google::protobuf::util::JsonStringToMessage(args_json, out.mutable_args()).ok() &&
      out.args().values_size() > 0) {
    *out.mutable_data() = out.args().values(0);
  } else {
    out.mutable_data()->set_null_value(google::protobuf::NULL_VALUE);
  }
  return out;
}

}  // namespace

void ControlApi::History(const v1::HistoryRequest& request, Caller,
                         Reply<v1::HistoryResponse> reply) {
  absl::StatusOr<std::string> nsp = KnownNamespace(parts_.namespaces, request.namespace_());
  if (!nsp.ok()) {
    std::move(reply)(nsp.status());
    return;
  }
  if (request.limit() > kMaxHistoryLimit) {
    std::move(reply)(absl::InvalidArgumentError(
        absl::StrCat("limit: must be 1-", kMaxHistoryLimit, " (got ", request.limit(), ")")));
    return;
  }
  if (!request.room().empty()) {
    if (absl::Status status = ValidateRooms(std::vector<std::string>{request.room()}, "room");
        !status.ok()) {
      std::move(reply)(status);
      return;
    }
  }
  core::LogQuery query;
  query.nsp = *std::move(nsp);
  query.room = request.room();
  query.after = request.after_offset();
  query.limit = request.limit() == 0 ? kDefaultHistoryLimit : request.limit();
  query.reverse = request.reverse();
  parts_.history.Read(std::move(query),
                      [reply = std::move(reply)](absl::StatusOr<core::LogPage> page) mutable {
                        if (!page.ok()) {
                          std::move(reply)(page.status());
                          return;
                        }
                        v1::HistoryResponse response;
                        for (const core::Event& event : page->events) {
                          *response.add_events() = ToHistoryEvent(event);
                        }
                        std::move(reply)(std::move(response));
                      });
}

}  // namespace roomcast::control
