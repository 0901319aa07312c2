#include "server/net/http_compression.h"

#include <zlib.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "server/base/string_view.h"

namespace roomcast::net {

ContentCoding ChooseCoding(std::string_view accept_encoding) {
  double gzip = -1;
  double deflate = -1;
  double any = -1;
  for (absl::string_view item : absl::StrSplit(ToAbsl(accept_encoding), ',')) {
    std::vector<absl::string_view> parts = absl::StrSplit(item, ';');
    const std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(parts[0]));
    double q = 1;
    for (size_t i = 1; i < parts.size(); ++i) {
      absl::string_view param = absl::StripAsciiWhitespace(parts[i]);
      if (absl::StartsWithIgnoreCase(param, "q=") && !absl::SimpleAtod(param.substr(2), &q)) {
        q = 0;
      }
    }
    if (name == "gzip") {
      gzip = q;
    } else if (name == "deflate") {
      deflate = q;
    } else if (name == "*") {
      any = q;
    }
  }
  if (gzip < 0) {
    gzip = any;
  }
  if (deflate < 0) {
    deflate = any;
  }
  if (gzip <= 0 && deflate <= 0) {
    return ContentCoding::kIdentity;
  }
  return gzip >= deflate ? ContentCoding::kGzip : ContentCoding::kDeflate;
}

std::string_view CodingName(ContentCoding coding) {
  switch (coding) {
    case ContentCoding::kGzip:
      return "gzip";
    case ContentCoding::kDeflate:
      return "deflate";
    case ContentCoding::kIdentity:
      break;
  }
  return "identity";
}

std::optional<std::string> Compress(std::string_view body, ContentCoding coding) {
  if (coding == ContentCoding::kIdentity) {
    return std::string(body);
  }
  z_stream stream{};
  // 15 bits of window; +16: a gzip header and trailer instead of zlib's.
  const int window_bits = coding == ContentCoding::kGzip ? 15 + 16 : 15;
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return std::nullopt;
  }
  std::string out(deflateBound(&stream, body.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  stream.avail_in = static_cast<uInt>(body.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (result != Z_STREAM_END) {
    return std::nullopt;
  }
  return out;
}

}  // namespace roomcast::net
