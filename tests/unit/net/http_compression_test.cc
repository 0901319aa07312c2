#include "server/net/http_compression.h"

#include <zlib.h>

#include <gtest/gtest.h>

namespace roomcast::net {
namespace {

// What a browser does with the response: inflate it (gzip or zlib format).
std::string Inflate(const std::string& data, bool gzip) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, gzip ? 15 + 16 : 15), Z_OK);
  std::string out(1 << 20, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return out;
}

TEST(HttpCompressionTest, ChoosesWhatTheClientPrefers) {
  EXPECT_EQ(ChooseCoding(""), ContentCoding::kIdentity);
  EXPECT_EQ(ChooseCoding("gzip, deflate, br"), ContentCoding::kGzip);  // What browsers send.
  EXPECT_EQ(ChooseCoding("deflate"), ContentCoding::kDeflate);
  EXPECT_EQ(ChooseCoding("gzip;q=0.5, deflate;q=0.9"), ContentCoding::kDeflate);
  EXPECT_EQ(ChooseCoding("GZIP"), ContentCoding::kGzip);
  EXPECT_EQ(ChooseCoding("gzip;q=0, deflate;q=0"), ContentCoding::kIdentity);
  EXPECT_EQ(ChooseCoding("*"), ContentCoding::kGzip);
  EXPECT_EQ(ChooseCoding("*;q=0.1, gzip;q=0"), ContentCoding::kDeflate);
  EXPECT_EQ(ChooseCoding("br, identity"), ContentCoding::kIdentity);
  EXPECT_EQ(ChooseCoding("gzip;q=nonsense"), ContentCoding::kIdentity);
}

TEST(HttpCompressionTest, CompressesWhatInflatesBack) {
  std::string body;
  for (int i = 0; i < 200; ++i) {
    body += R"(42["order.updated",{"id":12345,"status":"shipped"}])";
    body += '\x1e';
  }
  for (ContentCoding coding : {ContentCoding::kGzip, ContentCoding::kDeflate}) {
    std::optional<std::string> compressed = Compress(body, coding);
    ASSERT_TRUE(compressed.has_value());
    EXPECT_LT(compressed->size(), body.size() / 10) << CodingName(coding);
    EXPECT_EQ(Inflate(*compressed, coding == ContentCoding::kGzip), body);
  }
  EXPECT_EQ(CodingName(ContentCoding::kGzip), "gzip");
  EXPECT_EQ(CodingName(ContentCoding::kDeflate), "deflate");
}

}  // namespace
}  // namespace roomcast::net
