#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/core/event_store.h"

namespace roomcast::core {

// A synchronous read of a log that answers at once (the memory log).
inline LogPage ReadPage(EventReader& log, LogQuery query) {
  LogPage out;
  bool answered = false;
  log.Read(std::move(query), [&](absl::StatusOr<LogPage> page) {
    answered = true;
    ASSERT_TRUE(page.ok()) << page.status();
    out = *std::move(page);
  });
  EXPECT_TRUE(answered);
  return out;
}

inline std::vector<Event> ReadLog(EventReader& log, const std::string& nsp, uint64_t after = 0,
                                  size_t limit = 100) {
  LogQuery query;
  query.nsp = nsp;
  query.after = after;
  query.limit = limit;
  return ReadPage(log, std::move(query)).events;
}

inline std::vector<uint64_t> Offsets(const std::vector<Event>& events) {
  std::vector<uint64_t> out;
  for (const Event& event : events) {
    out.push_back(event.position.offset);
  }
  return out;
}

}  // namespace roomcast::core
