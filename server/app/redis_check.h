#pragma once

#include "server/broker/redis_broker.h"
#include "server/observe/health.h"

namespace roomcast::app {

// Health's `redis` check: the broker's link as its watchdog last saw it
// (both connections open, the last PING's round trip). Down is NOT_SERVING:
// Redis is on the emit path.
class RedisCheck final : public observe::HealthCheck {
 public:
  explicit RedisCheck(const broker::RedisBroker& broker) : broker_(broker) {}

  observe::CheckResult Run() override {
    const broker::RedisBroker::Health health = broker_.health();
    observe::CheckResult result;
    result.name = "redis";
    result.status = health.up ? observe::Serving::kServing : observe::Serving::kNotServing;
    result.latency = std::chrono::duration<double, std::milli>(health.latency_ms);
    result.detail = health.up ? "connected" : health.detail;
    return result;
  }

 private:
  const broker::RedisBroker& broker_;
};

}  // namespace roomcast::app
