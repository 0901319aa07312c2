#include "server/control/node_envelope.h"

#include <gtest/gtest.h>

#include "server/control/call_log.h"

namespace roomcast::control {
namespace {

TEST(NodeEnvelopeTest, UntracedCallsKeepTheMethodNulBodyShape) {
  const std::string body("a\0b", 3);
  const std::string envelope = NodeEnvelope("JoinRooms", body);
  EXPECT_EQ(envelope, std::string("JoinRooms\0a\0b", 13));
  const NodeCall call = OpenNodeEnvelope(envelope);
  EXPECT_EQ(call.method, "JoinRooms");
  EXPECT_EQ(call.body, body);
  EXPECT_FALSE(call.trace.has_value());
}

TEST(NodeEnvelopeTest, ATracedCallCarriesRoomcastsSpanToTheOtherNode) {
  std::optional<base::TraceParent> trace =
      base::ParseTraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(trace.has_value());
  std::string envelope;
  {
    const ScopedTrace traced(trace);
    envelope = NodeEnvelope("EmitWithAck", "payload");
  }
  const NodeCall call = OpenNodeEnvelope(envelope);
  EXPECT_EQ(call.method, "EmitWithAck");
  EXPECT_EQ(call.body, "payload");
  ASSERT_TRUE(call.trace.has_value());
  EXPECT_EQ(call.trace->trace_id, trace->trace_id);
  // The other node's parent is this node's span, and it makes a span of its own.
  EXPECT_EQ(call.trace->parent_span_id, trace->span_id);
  EXPECT_NE(call.trace->span_id, trace->span_id);
  EXPECT_EQ(call.trace->flags, "01");
}

TEST(NodeEnvelopeTest, AMalformedTraceIsDroppedNotTheCall) {
  const std::string envelope("LeaveRooms traceparent=zz\0body", 30);
  const NodeCall call = OpenNodeEnvelope(envelope);
  EXPECT_EQ(call.method, "LeaveRooms");
  EXPECT_EQ(call.body, "body");
  EXPECT_FALSE(call.trace.has_value());
}

TEST(NodeEnvelopeTest, NoNulMeansNoBody) {
  const NodeCall call = OpenNodeEnvelope("ClientEvents.Announce");
  EXPECT_EQ(call.method, "ClientEvents.Announce");
  EXPECT_TRUE(call.body.empty());
}

}  // namespace
}  // namespace roomcast::control
