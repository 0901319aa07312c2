#pragma once

#include <memory>
#include <string>

#include "server/observe/health.h"

namespace roomcast::storage {

// The database health check: `SELECT 1` over a kept connection (libpqxx),
// reconnecting after a failure. NOT_SERVING while the database is down.
class PostgresCheck final : public observe::HealthCheck {
 public:
  explicit PostgresCheck(std::string url);
  ~PostgresCheck() override;

  observe::CheckResult Run() override;

 private:
  struct Connection;  // libpqxx stays out of this header.

  std::string url_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace roomcast::storage
