#pragma once

#include <algorithm>
#include <chrono>

namespace roomcast::base {

// `rate` tokens per second, at most `burst` saved up. Not thread-safe: each
// bucket belongs to one socket or sits behind its owner's lock.
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket(double rate, double burst, Clock::time_point now = Clock::now())
      : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}

  // Takes one token if there is one.
  bool Take(Clock::time_point now = Clock::now()) {
    tokens_ =
        std::min(burst_, tokens_ + rate_ * std::chrono::duration<double>(now - last_).count());
    last_ = now;
    if (tokens_ < 1) {
      return false;
    }
    tokens_ -= 1;
    return true;
  }
  bool full(Clock::time_point now = Clock::now()) const {
    return tokens_ + rate_ * std::chrono::duration<double>(now - last_).count() >= burst_;
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace roomcast::base
