#include "server/codec/websocket_message_reader.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace roomcast::websocket {
namespace {

// A client frame: FIN (unless `more`), masked with a fixed key.
std::string ClientFrame(uint8_t opcode, std::string_view payload, bool fin = true,
                        std::string_view key = "\x12\x34\x56\x78") {
  std::string frame;
  frame.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
  if (payload.size() < 126) {
    frame.push_back(static_cast<char>(0x80 | payload.size()));
  } else if (payload.size() <= 0xffff) {
    frame.push_back(static_cast<char>(0x80 | 126));
    frame.push_back(static_cast<char>(payload.size() >> 8));
    frame.push_back(static_cast<char>(payload.size() & 0xff));
  } else {
    frame.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) {
      frame.push_back(static_cast<char>((payload.size() >> (8 * i)) & 0xff));
    }
  }
  frame.append(key);
  for (size_t i = 0; i < payload.size(); ++i) {
    frame.push_back(static_cast<char>(payload[i] ^ key[i % 4]));
  }
  return frame;
}

struct Seen {
  Incoming::Kind kind;
  bool binary;
  std::string data;
  uint16_t code;
};

struct Reading {
  std::vector<Seen> seen;
  MessageReader::Result result;
};

Reading ReadAll(MessageReader& reader, std::string bytes) {
  Reading run;
  run.result = reader.Read(bytes.data(), bytes.size(), [&](const Incoming& in) {
    run.seen.push_back({in.kind, in.binary, std::string(in.data), in.close_code});
  });
  return run;
}

TEST(MessageReaderTest, UnmasksTextAndBinaryMessages) {
  MessageReader reader(1000);
  Reading run =
      ReadAll(reader, ClientFrame(0x1, "42[\"join\",\"a\"]") + ClientFrame(0x2, "\x01\x02\xff"));
  ASSERT_FALSE(run.result.failed());
  ASSERT_EQ(run.seen.size(), 2u);
  EXPECT_EQ(run.seen[0].data, "42[\"join\",\"a\"]");
  EXPECT_FALSE(run.seen[0].binary);
  EXPECT_EQ(run.seen[1].data, "\x01\x02\xff");
  EXPECT_TRUE(run.seen[1].binary);
}

TEST(MessageReaderTest, LeavesAnIncompleteFrameForLater) {
  MessageReader reader(100000);
  std::string frame = ClientFrame(0x1, std::string(300, 'x'));  // a 16-bit length
  for (size_t cut : {1u, 2u, 3u, 7u, 8u, 299u}) {
    Reading run = ReadAll(reader, frame.substr(0, cut));
    EXPECT_EQ(run.result.consumed, 0u) << cut;
    EXPECT_TRUE(run.seen.empty());
  }
  Reading run = ReadAll(reader, frame + frame.substr(0, 5));
  EXPECT_EQ(run.result.consumed, frame.size());
  ASSERT_EQ(run.seen.size(), 1u);
  EXPECT_EQ(run.seen[0].data, std::string(300, 'x'));
}

TEST(MessageReaderTest, ReadsA64BitLength) {
  MessageReader reader(1 << 20);
  std::string payload(70000, 'y');
  Reading run = ReadAll(reader, ClientFrame(0x2, payload));
  ASSERT_EQ(run.seen.size(), 1u);
  EXPECT_EQ(run.seen[0].data.size(), payload.size());
}

TEST(MessageReaderTest, JoinsFragmentsWithControlFramesBetween) {
  MessageReader reader(1000);
  Reading run = ReadAll(reader, ClientFrame(0x1, "42[\"a\",", false) + ClientFrame(0x9, "hb") +
                                    ClientFrame(0x0, "1,", false) + ClientFrame(0x0, "2]"));
  ASSERT_FALSE(run.result.failed());
  ASSERT_EQ(run.seen.size(), 2u);
  EXPECT_EQ(run.seen[0].kind, Incoming::Kind::kPing);
  EXPECT_EQ(run.seen[0].data, "hb");
  EXPECT_EQ(run.seen[1].kind, Incoming::Kind::kMessage);
  EXPECT_EQ(run.seen[1].data, "42[\"a\",1,2]");
}

TEST(MessageReaderTest, ReadsTheCloseCodeAndReason) {
  MessageReader reader(1000);
  Reading run = ReadAll(reader, ClientFrame(0x8, std::string("\x03\xe9", 2) + "bye"));
  ASSERT_EQ(run.seen.size(), 1u);
  EXPECT_EQ(run.seen[0].kind, Incoming::Kind::kClose);
  EXPECT_EQ(run.seen[0].code, 1001);
  EXPECT_EQ(run.seen[0].data, "bye");
}

struct BadCase {
  const char* name;
  std::string bytes;
  CloseCode expected;
};

TEST(MessageReaderTest, RefusesWhatRfc6455Forbids) {
  std::string unmasked = ClientFrame(0x1, "hi");
  unmasked[1] = static_cast<char>(unmasked[1] & 0x7f);
  std::string rsv = ClientFrame(0x1, "hi");
  rsv[0] = static_cast<char>(rsv[0] | 0x40);
  const std::vector<BadCase> cases = {
      {"unmasked", unmasked, CloseCode::kProtocolError},
      {"rsv bit", rsv, CloseCode::kProtocolError},
      {"unknown opcode", ClientFrame(0x3, "x"), CloseCode::kProtocolError},
      {"fragmented ping", ClientFrame(0x9, "x", false), CloseCode::kProtocolError},
      {"long ping", ClientFrame(0x9, std::string(126, 'p')), CloseCode::kProtocolError},
      {"stray continuation", ClientFrame(0x0, "x"), CloseCode::kProtocolError},
      {"message inside message", ClientFrame(0x1, "a", false) + ClientFrame(0x1, "b"),
       CloseCode::kProtocolError},
      {"one-byte close", ClientFrame(0x8, "\x03"), CloseCode::kProtocolError},
      {"bad utf-8", ClientFrame(0x1, "\xc3\x28"), CloseCode::kInvalidPayload},
      {"bad utf-8 over fragments", ClientFrame(0x1, "\xe2\x82", false) + ClientFrame(0x0, "\x28"),
       CloseCode::kInvalidPayload},
      {"too big", ClientFrame(0x2, std::string(101, 'z')), CloseCode::kTooBig},
      {"too big over fragments",
       ClientFrame(0x2, std::string(60, 'z'), false) + ClientFrame(0x0, std::string(60, 'z')),
       CloseCode::kTooBig},
  };
  for (const BadCase& bad : cases) {
    MessageReader reader(100);
    Reading run = ReadAll(reader, bad.bytes);
    EXPECT_EQ(run.result.error, bad.expected) << bad.name;
  }
}

TEST(MessageReaderTest, KnowsTooBigFromTheHeaderAlone) {
  MessageReader reader(100);
  std::string header = ClientFrame(0x2, std::string(5000, 'z')).substr(0, 8);
  Reading run = ReadAll(reader, header);
  EXPECT_EQ(run.result.error, CloseCode::kTooBig);
}

TEST(FrameTest, HeadersUseTheShortestLength) {
  for (auto [size, header_bytes] :
       {std::pair<size_t, size_t>{125, 2}, {126, 4}, {65535, 4}, {65536, 10}}) {
    std::string out;
    AppendFrameHeader(out, Opcode::kText, size);
    EXPECT_EQ(out.size(), header_bytes) << size;
    EXPECT_EQ(static_cast<uint8_t>(out[0]), 0x81);
  }
}

TEST(FrameTest, CloseFrameCarriesCodeAndReason) {
  std::string frame = CloseFrame(CloseCode::kSlowConsumer, "slow consumer");
  ASSERT_EQ(frame.size(), 2u + 2u + 13u);
  EXPECT_EQ(static_cast<uint8_t>(frame[0]), 0x88);
  EXPECT_EQ((static_cast<uint8_t>(frame[2]) << 8) | static_cast<uint8_t>(frame[3]), 4000);
  EXPECT_EQ(frame.substr(4), "slow consumer");
}

TEST(FrameTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("plain ascii that is longer than eight bytes"));
  EXPECT_TRUE(IsValidUtf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("abc\xe2\x82"));       // cut short
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

}  // namespace
}  // namespace roomcast::websocket
