#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace roomcast::net {

// Response compression as engine.io's `httpCompression` does it for polling
// responses: gzip or deflate (the zlib format, as HTTP means it), whichever
// the client's Accept-Encoding prefers (gzip on a tie; q=0 refuses one).
enum class ContentCoding { kIdentity, kGzip, kDeflate };

ContentCoding ChooseCoding(std::string_view accept_encoding);

// The Content-Encoding header's value.
std::string_view CodingName(ContentCoding coding);

// `body` compressed (zlib's default level, as Node's zlib); nullopt if zlib fails.
std::optional<std::string> Compress(std::string_view body, ContentCoding coding);

}  // namespace roomcast::net
