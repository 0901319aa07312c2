#include "server/base/trace_context.h"

#include <gtest/gtest.h>

namespace roomcast::base {
namespace {

constexpr std::string_view kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceParentTest, ParsesVersion00) {
  std::optional<TraceParent> trace = ParseTraceParent(kValid);
  ASSERT_TRUE(trace);
  EXPECT_EQ(trace->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(trace->parent_span_id, "00f067aa0ba902b7");
  EXPECT_EQ(trace->flags, "01");
  ASSERT_EQ(trace->span_id.size(), 16u);
  EXPECT_NE(trace->span_id, trace->parent_span_id);
  EXPECT_EQ(trace->span_id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(trace->Child(), "00-4bf92f3577b34da6a3ce929d0e0e4736-" + trace->span_id + "-01");
}

TEST(TraceParentTest, EachParseMakesANewSpan) {
  EXPECT_NE(ParseTraceParent(kValid)->span_id, ParseTraceParent(kValid)->span_id);
}

TEST(TraceParentTest, LaterVersionsMayAddFields) {
  EXPECT_TRUE(ParseTraceParent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_TRUE(ParseTraceParent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what"));
  EXPECT_FALSE(ParseTraceParent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01what"));
}

TEST(TraceParentTest, RefusesWhatTheSpecRefuses) {
  for (std::string_view bad : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  // 00 has 4 fields.
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // Uppercase.
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // Zero trace id.
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // Zero parent id.
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // Version ff.
           "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
           "00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bx-01",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
           "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
           " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
       }) {
    EXPECT_FALSE(ParseTraceParent(bad)) << bad;
  }
}

}  // namespace
}  // namespace roomcast::base
