#include "server/control/http_gateway.h"

#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/api/annotations.pb.h"
#include "roomcast/v1/health.pb.h"
#include "roomcast/v1/roomcast.pb.h"
#include "server/base/string_view.h"
#include "server/control/call_log.h"
#include "server/control/json_shape.h"
#include "server/control/method_table.h"
#include "server/control/status_map.h"
#include "server/net/http_connection.h"

namespace roomcast::control {
namespace {

namespace http = net::http;
namespace protobuf = google::protobuf;

net::Response ErrorResponse(const net::Request& request, const absl::Status& status) {
  return net::JsonResponse(request, static_cast<http::status>(HttpStatusFor(status.code())),
                           StatusJson(status));
}

std::unique_ptr<protobuf::Message> NewMessage(const protobuf::Descriptor& type) {
  return std::unique_ptr<protobuf::Message>(
      protobuf::MessageFactory::generated_factory()->GetPrototype(&type)->New());
}

// Strict JSON first, so a syntax error can name its byte position.
absl::StatusOr<boost::json::value> ParseJsonSyntax(std::string_view body) {
  boost::json::stream_parser parser;
  boost::system::error_code ec;
  const size_t consumed = parser.write(body.data(), body.size(), ec);
  if (!ec) {
    parser.finish(ec);
  }
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed JSON at byte ", consumed, ": ", ec.message()));
  }
  return parser.release();
}

absl::Status ParseJson(std::string_view json, protobuf::Message& message) {
  protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = protobuf::util::JsonStringToMessage(protobuf::StringPiece(json.data(), json.size()),
                                                    &message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid request: ", status.message().as_string()));
  }
  return absl::OkStatus();
}

bool HasDouble(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::double_:
      return true;
    case boost::json::kind::array:
      for (const boost::json::value& item : value.get_array()) {
        if (HasDouble(item)) return true;
      }
      return false;
    case boost::json::kind::object:
      for (const auto& item : value.get_object()) {
        if (HasDouble(item.value())) return true;
      }
      return false;
    default:
      return false;
  }
}

// An emit's `data` is any JSON: it goes on as the bytes of `data_json`
// (what gRPC callers with serialized JSON use) rather than through a
// google.protobuf.Value and back to JSON, which would cost two conversions
// per emit and round big integers to doubles. Data with fractions takes the
// Value path: Boost.JSON would write 1.5 as 1.5E0.
std::optional<std::string> TakeEmitData(boost::json::value& emit) {
  boost::json::object* object = emit.if_object();
  // Both data and dataJson: left to the JSON mapping, which refuses the pair.
  if (object == nullptr || object->contains("dataJson") || object->contains("data_json")) {
    return std::nullopt;
  }
  auto it = object->find("data");
  if (it == object->end() || HasDouble(it->value())) return std::nullopt;
  std::string data = boost::json::serialize(it->value());
  object->erase(it);
  return data;
}

// The body (already checked for shape) into the request message.
absl::Status ParseBody(boost::json::value body, protobuf::Message& message) {
  if (auto* emit = dynamic_cast<v1::EmitRequest*>(&message)) {
    std::optional<std::string> data = TakeEmitData(body);
    absl::Status status = ParseJson(boost::json::serialize(body), message);
    if (status.ok() && data) emit->set_data_json(*std::move(data));
    return status;
  }
  if (auto* batch = dynamic_cast<v1::EmitBatchRequest*>(&message)) {
    std::vector<std::optional<std::string>> data;
    boost::json::value* emits = body.is_object() ? body.as_object().if_contains("emits") : nullptr;
    if (emits != nullptr && emits->is_array()) {
      for (boost::json::value& emit : emits->as_array()) data.push_back(TakeEmitData(emit));
    }
    absl::Status status = ParseJson(boost::json::serialize(body), message);
    for (size_t i = 0;
         status.ok() && i < data.size() && i < static_cast<size_t>(batch->emits_size()); ++i) {
      if (data[i]) batch->mutable_emits(static_cast<int>(i))->set_data_json(*std::move(data[i]));
    }
    return status;
  }
  return ParseJson(boost::json::serialize(body), message);
}

// Query parameters as the JSON object of the request message: repeated
// fields from repeated parameters, booleans as literals, the rest as
// strings (the JSON mapping parses numbers from strings).
absl::StatusOr<std::string> QueryAsJson(std::string_view target, const protobuf::Descriptor& type) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    return absl::InvalidArgumentError("malformed request target");
  }
  boost::json::object object;
  for (const auto& param : url->params()) {
    const protobuf::FieldDescriptor* field = FieldNamed(type, param.key);
    if (field == nullptr || field->type() == protobuf::FieldDescriptor::TYPE_MESSAGE) {
      return absl::InvalidArgumentError(absl::StrCat("unknown query parameter '", param.key, "'"));
    }
    boost::json::value value(param.value);
    if (field->type() == protobuf::FieldDescriptor::TYPE_BOOL) {
      if (param.value != "true" && param.value != "false") {
        return absl::InvalidArgumentError(
            absl::StrCat("query parameter '", param.key, "' must be true or false"));
      }
      value = param.value == "true";
    }
    if (field->is_repeated()) {
      boost::json::value& list = object[field->json_name()];
      if (!list.is_array()) {
        list = boost::json::array();
      }
      list.as_array().push_back(std::move(value));
    } else {
      object[field->json_name()] = std::move(value);
    }
  }
  return boost::json::serialize(object);
}

// What the HTTP status says beyond the gRPC one: health that is
// NOT_SERVING is a 503 with its details in the body.
http::status SuccessStatus(const protobuf::Message& response) {
  if (const auto* health = dynamic_cast<const v1::HealthResponse*>(&response);
      health != nullptr && health->status() == v1::NOT_SERVING) {
    return http::status::service_unavailable;
  }
  return http::status::ok;
}

std::optional<http::verb> VerbOf(const google::api::HttpRule& rule, std::string* path) {
  switch (rule.pattern_case()) {
    case google::api::HttpRule::kGet:
      *path = rule.get();
      return http::verb::get;
    case google::api::HttpRule::kPost:
      *path = rule.post();
      return http::verb::post;
    case google::api::HttpRule::kPut:
      *path = rule.put();
      return http::verb::put;
    case google::api::HttpRule::kDelete:
      *path = rule.delete_();
      return http::verb::delete_;
    case google::api::HttpRule::kPatch:
      *path = rule.patch();
      return http::verb::patch;
    default:
      return std::nullopt;
  }
}

}  // namespace

HttpGateway::HttpGateway(const protobuf::ServiceDescriptor& service, ControlApi& api,
                         const auth::ApiKeys& keys)
    : methods_(MethodTable(api, Caller::kHttp)), api_(api), keys_(keys) {
  for (int i = 0; i < service.method_count(); ++i) {
    AddBindings(*service.method(i));
  }
}

void HttpGateway::AddBindings(const protobuf::MethodDescriptor& method) {
  const google::api::HttpRule& rule = method.options().GetExtension(google::api::http);
  auto invoker = methods_.find(method.name());
  if (invoker == methods_.end()) {
    return;  // Not served here (a method newer than this build's table).
  }
  auto add = [&](const google::api::HttpRule& binding) {
    std::string path;
    if (std::optional<http::verb> verb = VerbOf(binding, &path)) {
      routes_[path].push_back(Binding{*verb, binding.body(), &method, &invoker->second});
    }
  };
  add(rule);
  for (const google::api::HttpRule& extra : rule.additional_bindings()) {
    add(extra);
  }
}

std::vector<std::string> HttpGateway::Paths() const {
  std::vector<std::string> paths;
  for (const auto& [path, bindings] : routes_) {
    paths.push_back(path);
  }
  return paths;
}

void HttpGateway::Handle(const std::shared_ptr<net::HttpConnection>& connection,
                         net::Request request) {
  const std::string_view target(request.target().data(), request.target().size());
  auto it = routes_.find(ToAbsl(target.substr(0, target.find('?'))));
  if (it == routes_.end()) {
    connection->Reply(ErrorResponse(request, absl::NotFoundError("no such route")));
    return;
  }
  std::vector<std::string> allowed;
  for (const Binding& binding : it->second) {
    if (binding.verb == request.method()) {
      Call(connection, request, binding);
      return;
    }
    allowed.emplace_back(http::to_string(binding.verb));
  }
  net::Response response =
      ErrorResponse(request, absl::Status(absl::StatusCode::kUnimplemented, "method not allowed"));
  response.result(http::status::method_not_allowed);
  response.set(http::field::allow, absl::StrJoin(allowed, ", "));
  connection->Reply(std::move(response));
}

void HttpGateway::Call(const std::shared_ptr<net::HttpConnection>& connection,
                       const net::Request& request, const Binding& binding) {
  const protobuf::MethodDescriptor& method = *binding.method;
  // The service checks the key too; checked here first so that anonymous
  // callers learn nothing from parse errors.
  CallInfo call{method.name(), Caller::kHttp};
  if (binding.invoke->access == Access::kApiKey) {
    std::optional<std::string> name =
        keys_.Identify(net::HeaderValue(request, http::field::authorization),
                       net::HeaderValue(request, "x-api-key"));
    if (!name) {
      LogRefusedCall(method.name(), Caller::kHttp);
      connection->Reply(ErrorResponse(
          request, absl::UnauthenticatedError("a valid internal API key is required")));
      return;
    }
    call.key_name = *std::move(name);
    CountCall(api_.metrics(), call);
  }
  if (std::optional<std::string_view> header = net::HeaderValue(request, "traceparent")) {
    call.trace = base::ParseTraceParent(*header);
  }
  std::unique_ptr<protobuf::Message> message = NewMessage(*method.input_type());
  absl::Status parsed;
  if (binding.body == "*") {
    const std::string_view body = request.body().empty() ? "{}" : std::string_view(request.body());
    absl::StatusOr<boost::json::value> json = ParseJsonSyntax(body);
    parsed = json.ok() ? CheckJsonShape(*json, *method.input_type()) : json.status();
    if (parsed.ok()) {
      parsed = ParseBody(std::move(*json), *message);
    }
  } else {
    absl::StatusOr<std::string> json = QueryAsJson(
        std::string_view(request.target().data(), request.target().size()), *method.input_type());
    parsed = json.ok() ? ParseJson(*json, *message) : json.status();
  }
  if (!parsed.ok()) {
    LogCall(call, parsed);
    connection->Reply(ErrorResponse(request, parsed));
    return;
  }

  net::Request shape;  // Version and keep-alive for the response.
  shape.version(request.version());
  shape.keep_alive(request.keep_alive());
  // The request lives until the reply: the API may read it until then.
  std::shared_ptr<const protobuf::Message> held = std::move(message);
  const std::optional<base::TraceParent> trace = call.trace;  // `call` moves on.
  ScopedTrace scope(trace);
  binding.invoke->invoke(
      *held, [held, connection, shape = std::move(shape), call = std::move(call)](
                 absl::StatusOr<std::unique_ptr<protobuf::Message>> result) mutable {
        LogCall(call, result.status());
        net::Response response;
        std::string json;
        protobuf::util::JsonPrintOptions options;
        options.always_print_primitive_fields = true;
        if (!result.ok()) {
          response = ErrorResponse(shape, result.status());
        } else if (!protobuf::util::MessageToJsonString(**result, &json, options).ok()) {
          response = ErrorResponse(shape, absl::InternalError("could not encode the response"));
        } else {
          response = net::JsonResponse(shape, SuccessStatus(**result), std::move(json));
        }
        // Replies may come on any thread: the connection is answered on its own shard.
        boost::asio::post(connection->shard().io(),
                          [connection, response = std::move(response)]() mutable {
                            connection->Reply(std::move(response));
                          });
      });
}

}  // namespace roomcast::control
