#include "server/broker/classic_message.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "server/broker/msgpack.h"

namespace roomcast::broker {
namespace {

// emitter.to("room1").emit("hello", "world"), byte for byte as
// @socket.io/redis-emitter 5.1.0 publishes it (notepack.io).
std::string EmitterHello() {
  const unsigned char bytes[] = {
      0x93, 0xa7, 'e',  'm', 'i',  't',  't',  'e',  'r',  0x83, 0xa4, 't', 'y',  'p',
      'e',  0x02, 0xa4, 'd', 'a',  't',  'a',  0x92, 0xa5, 'h',  'e',  'l', 'l',  'o',
      0xa5, 'w',  'o',  'r', 'l',  'd',  0xa3, 'n',  's',  'p',  0xa1, '/', 0x83, 0xa5,
      'r',  'o',  'o',  'm', 's',  0x91, 0xa5, 'r',  'o',  'o',  'm',  '1', 0xa5, 'f',
      'l',  'a',  'g',  's', 0x80, 0xa6, 'e',  'x',  'c',  'e',  'p',  't', 0x90};
  return std::string(reinterpret_cast<const char*>(bytes), sizeof(bytes));
}

TEST(ClassicMessageTest, DecodesTheEmittersBroadcast) {
  ASSERT_EQ(EmitterHello().size(), 69u);
  absl::StatusOr<ClassicBroadcast> broadcast = DecodeClassicBroadcast(EmitterHello());
  ASSERT_TRUE(broadcast.ok()) << broadcast.status();
  EXPECT_EQ(broadcast->uid, "emitter");
  EXPECT_EQ(broadcast->event.nsp, "/");
  EXPECT_EQ(broadcast->event.rooms, std::vector<std::string>{"room1"});
  EXPECT_TRUE(broadcast->event.except.empty());
  EXPECT_EQ(broadcast->event.packet->text, R"(42["hello","world"])");
  EXPECT_FALSE(broadcast->event.packet->is_volatile);
}

std::string Broadcast(const std::function<void(MsgpackWriter&)>& args, int arg_count,
                      bool is_volatile = false, std::string nsp = "/chat") {
  MsgpackWriter writer;
  writer.Array(3);
  writer.Str("AbCdEf");
  writer.Map(3);
  writer.Str("type");
  writer.Uint(2);
  writer.Str("data");
  writer.Array(static_cast<uint32_t>(1 + arg_count));
  writer.Str("file");
  args(writer);
  writer.Str("nsp");
  writer.Str(nsp);
  writer.Map(3);
  writer.Str("rooms");
  writer.StrArray({});
  writer.Str("except");
  writer.StrArray({"vip"});
  writer.Str("flags");
  writer.Map(1);
  writer.Str("volatile");
  writer.Bool(is_volatile);
  return std::move(writer.bytes());
}

TEST(ClassicMessageTest, BinaryArgumentsBecomeAttachments) {
  std::string message = Broadcast(
      [](MsgpackWriter& w) {
        w.Bin(std::string("\x01\x02", 2));
        w.Map(2);
        w.Str("name");
        w.Str("a\"b");
        w.Str("more");
        w.Bin("xy");
      },
      2, /*is_volatile=*/true);
  absl::StatusOr<ClassicBroadcast> broadcast = DecodeClassicBroadcast(message);
  ASSERT_TRUE(broadcast.ok()) << broadcast.status();
  EXPECT_EQ(broadcast->event.packet->text,
            R"(452-/chat,["file",{"_placeholder":true,"num":0},)"
            R"({"name":"a\"b","more":{"_placeholder":true,"num":1}}])");
  EXPECT_EQ(broadcast->event.packet->attachments,
            (std::vector<std::string>{std::string("\x01\x02", 2), "xy"}));
  EXPECT_TRUE(broadcast->event.packet->is_volatile);
  EXPECT_TRUE(broadcast->event.rooms.empty()) << "the whole namespace";
  EXPECT_EQ(broadcast->event.except, std::vector<std::string>{"vip"});
}

TEST(ClassicMessageTest, NumbersNullsBooleansAndNestedArrays) {
  std::string message = Broadcast(
      [](MsgpackWriter& w) {
        w.Array(4);
        w.Uint(18446744073709551615u);
        w.Nil();
        w.Bool(false);
        w.Array(0);
      },
      1);
  absl::StatusOr<ClassicBroadcast> broadcast = DecodeClassicBroadcast(message);
  ASSERT_TRUE(broadcast.ok()) << broadcast.status();
  EXPECT_EQ(broadcast->event.packet->text,
            R"(42/chat,["file",[18446744073709551615,null,false,[]]])");
}

TEST(ClassicMessageTest, RefusesWhatIsNotABroadcast) {
  EXPECT_FALSE(DecodeClassicBroadcast("").ok());
  EXPECT_FALSE(DecodeClassicBroadcast("not msgpack").ok());
  EXPECT_FALSE(DecodeClassicBroadcast(EmitterHello().substr(0, 40)).ok()) << "truncated";
  MsgpackWriter reserved;
  reserved.Array(3);
  reserved.Str("emitter");
  reserved.Map(2);
  reserved.Str("type");
  reserved.Uint(2);
  reserved.Str("data");
  reserved.Array(1);
  reserved.Str("disconnect");
  reserved.Map(0);
  EXPECT_FALSE(DecodeClassicBroadcast(reserved.bytes()).ok()) << "a reserved event name";
}

TEST(ClassicMessageTest, RequestsBecomeRoomCommands) {
  auto join = DecodeClassicRequest(
      "/", R"({"type":2,"opts":{"rooms":["lobby"],"except":["vip"]},"rooms":["game-1","game-2"]})");
  ASSERT_TRUE(join.ok());
  EXPECT_EQ(join->kind, ClassicRequest::Kind::kCommand);
  EXPECT_EQ(join->command.kind, core::RoomCommand::Kind::kJoin);
  EXPECT_EQ(join->command.targets, std::vector<std::string>{"lobby"});
  EXPECT_EQ(join->command.except, std::vector<std::string>{"vip"});
  EXPECT_EQ(join->command.rooms, (std::vector<std::string>{"game-1", "game-2"}));
  EXPECT_EQ(join->request_id, "") << "the emitter waits for no answer";

  auto leave =
      DecodeClassicRequest("/chat", R"({"type":3,"opts":{"rooms":[],"except":[]},"rooms":["a"]})");
  ASSERT_TRUE(leave.ok());
  EXPECT_EQ(leave->command.kind, core::RoomCommand::Kind::kLeave);
  EXPECT_EQ(leave->command.nsp, "/chat");
  EXPECT_TRUE(leave->command.targets.empty()) << "every socket of the namespace";

  auto disconnect = DecodeClassicRequest("/", R"({"type":4,"opts":{"rooms":["x"]},"close":true})");
  ASSERT_TRUE(disconnect.ok());
  EXPECT_EQ(disconnect->command.kind, core::RoomCommand::Kind::kDisconnect);
  EXPECT_TRUE(disconnect->command.close_connection);

  // A Node.js server's remoteJoin of one socket waits for an answer.
  auto one = DecodeClassicRequest(
      "/", R"({"uid":"abc123","requestId":"r1","type":2,"sid":"s1","room":"x"})");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->command.targets, std::vector<std::string>{"s1"});
  EXPECT_EQ(one->command.rooms, std::vector<std::string>{"x"});
  EXPECT_EQ(one->request_id, "r1");
}

TEST(ClassicMessageTest, FetchSocketsIsAnsweredTheWayTheAdapterReadsIt) {
  auto fetch = DecodeClassicRequest(
      "/", R"({"uid":"abc123","requestId":"q7","type":5,"opts":{"rooms":["lobby"],"except":[]}})");
  ASSERT_TRUE(fetch.ok());
  EXPECT_EQ(fetch->kind, ClassicRequest::Kind::kFetchSockets);
  EXPECT_EQ(fetch->command.targets, std::vector<std::string>{"lobby"});
  const std::string answer = EncodeClassicResponse(*fetch, {{"s1", {"lobby", "s1"}}});
  boost::json::value parsed = boost::json::parse(answer);
  EXPECT_EQ(parsed.at("requestId"), "q7");
  EXPECT_EQ(parsed.at("sockets").at(0).at("id"), "s1");
  EXPECT_EQ(parsed.at("sockets").at(0).at("rooms"), (boost::json::array{"lobby", "s1"}));
  EXPECT_TRUE(parsed.at("sockets").at(0).at("handshake").is_object());

  auto rooms = DecodeClassicRequest("/", R"({"uid":"u","requestId":"q8","type":1})");
  ASSERT_TRUE(rooms.ok());
  EXPECT_EQ(
      boost::json::parse(EncodeClassicResponse(*rooms, {{"a", {"a", "r"}}, {"b", {"b", "r"}}})),
      boost::json::parse(R"({"requestId":"q8","rooms":["a","b","r"]})"));
}

TEST(ClassicMessageTest, OtherRequestsAreIgnoredAndBrokenOnesRefused) {
  auto server_side_emit = DecodeClassicRequest("/", R"({"uid":"emitter","type":6,"data":[1]})");
  ASSERT_TRUE(server_side_emit.ok());
  EXPECT_EQ(server_side_emit->kind, ClassicRequest::Kind::kIgnored);
  auto with_ack = DecodeClassicRequest("/", std::string("\x85\xa3uid", 5));
  ASSERT_TRUE(with_ack.ok()) << "MessagePack requests are broadcasts with acks";
  EXPECT_EQ(with_ack->kind, ClassicRequest::Kind::kIgnored);
  EXPECT_FALSE(DecodeClassicRequest("/", "{").ok());
  EXPECT_FALSE(DecodeClassicRequest("/", R"({"type":"2"})").ok());
}

TEST(ClassicMessageTest, EncodesThisNodesEventsForNodeServers) {
  core::Event event;
  event.nsp = "/chat";
  event.rooms = {"a"};
  event.packet = core::MakePacket(R"(451-/chat,["file",{"_placeholder":true,"num":0},-3,1.5])",
                                  {"xy"}, /*is_volatile=*/true);
  absl::StatusOr<std::string> encoded = EncodeClassicBroadcast("roomcast-n1", event);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  absl::StatusOr<ClassicBroadcast> decoded = DecodeClassicBroadcast(*encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->uid, "roomcast-n1");
  // The same JSON (Boost.JSON writes 1.5 as 1.5E0, which JSON allows).
  const std::string_view header = R"(451-/chat,)";
  ASSERT_TRUE(decoded->event.packet->text.starts_with(header));
  EXPECT_EQ(boost::json::parse(decoded->event.packet->text.substr(header.size())),
            boost::json::parse(event.packet->text.substr(header.size())));
  EXPECT_EQ(decoded->event.packet->attachments, event.packet->attachments);
  EXPECT_TRUE(decoded->event.packet->is_volatile);
  EXPECT_EQ(decoded->event.rooms, event.rooms);
}

}  // namespace
}  // namespace roomcast::broker
