#include "server/control/webhook_poster.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace roomcast::control {
namespace {

TEST(WebhookPosterTest, SignsWithHmacSha256InLowercaseHex) {
  // RFC 4231-style known answer (the Wikipedia HMAC example).
  EXPECT_EQ(WebhookPoster::Signature("key", "The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
}

TEST(WebhookPosterTest, TheBodyHasTheDocumentedFields) {
  v1::ClientEvent event;
  event.set_id("n.1");
  event.set_namespace_("/");
  event.set_event("chat");
  event.set_args_json(R"([{"text":"hi"},{"_placeholder":true,"num":0}])");
  event.add_attachments(std::string("\x01\x02", 2));
  event.set_socket_id("s");
  event.set_user_id("u");
  event.add_rooms("r");
  event.set_time_ms(1700000000000);
  const boost::json::object body = boost::json::parse(WebhookPoster::Body(event)).as_object();
  EXPECT_EQ(body.at("id"), "n.1");
  EXPECT_EQ(body.at("namespace"), "/");
  EXPECT_EQ(body.at("event"), "chat");
  EXPECT_EQ(body.at("args").as_array().at(0).at("text"), "hi");
  EXPECT_EQ(body.at("socketId"), "s");
  EXPECT_EQ(body.at("userId"), "u");
  EXPECT_EQ(body.at("rooms").as_array().at(0), "r");
  EXPECT_EQ(body.at("time").to_number<int64_t>(), 1700000000000);
  EXPECT_EQ(body.at("attachments").as_array().at(0), "AQI=");
}

TEST(WebhookPosterTest, RefusesWhatIsNotAnHttpUrl) {
  base::Counters counters;
  for (const char* url : {"ftp://example.com/", "not a url", "http://"}) {
    auto poster = WebhookPoster::Create(WebhookOptions{url, "secret"}, counters);
    EXPECT_FALSE(poster.ok()) << url;
  }
  EXPECT_TRUE(WebhookPoster::Create(WebhookOptions{"http://[::1]:9/hook?x=1", "s"}, counters).ok());
}

}  // namespace
}  // namespace roomcast::control
