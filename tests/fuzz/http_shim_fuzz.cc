// The HTTP shim's request parsing: the request target and the JSON body,
// checked against the request message and read by protobuf's JSON mapping.
// The first line of the input is the target, the rest the body.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <google/protobuf/util/json_util.h>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "roomcast/v1/emit.pb.h"
#include "server/control/json_shape.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view target = input.substr(0, newline);
  const std::string_view body = newline == std::string_view::npos ? "" : input.substr(newline + 1);
  if (auto url = boost::urls::parse_origin_form(target)) {
    for (const auto& param : url->params()) {
      (void)param.key.size();
    }
  }
  boost::system::error_code ec;
  boost::json::value json = boost::json::parse(body, ec);
  if (ec) {
    return 0;
  }
  roomcast::v1::EmitBatchRequest request;
  if (roomcast::control::CheckJsonShape(json, *request.GetDescriptor()).ok()) {
    google::protobuf::util::JsonParseOptions options;
    (void)google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(body.data(), body.size()), &request, options);
  }
  return 0;
}
