#include "server/observe/postgres_check.h"

#include <cstdlib>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace roomcast::storage {

struct PostgresCheck::Connection {
  explicit Connection(const std::string& url) : db(url) {}
  pqxx::connection db;
};

PostgresCheck::PostgresCheck(std::string url) : url_(std::move(url)) {
  // A database that does not answer must not hold the health thread for
  // minutes (libpq reads this; set at startup, before the checks run).
  setenv("PGCONNECT_TIMEOUT", "3", /*overwrite=*/0);
}

PostgresCheck::~PostgresCheck() = default;

observe::CheckResult PostgresCheck::Run() {
  observe::CheckResult result;
  result.name = "database";
  const auto start = std::chrono::steady_clock::now();
  try {
    if (!connection_ || !connection_->db.is_open()) {
      connection_ = std::make_unique<Connection>(url_);
    }
    pqxx::nontransaction transaction(connection_->db);
    transaction.exec("SELECT 1");
    result.detail = "SELECT 1 ok";
  } catch (const std::exception& error) {
    // libpqxx reports by exception; here it becomes the check's result.
    connection_.reset();
    result.status = observe::Serving::kNotServing;
    result.detail =
        absl::StrCat("database unreachable: ", absl::StripTrailingAsciiWhitespace(error.what()));
  }
  result.latency = std::chrono::steady_clock::now() - start;
  return result;
}

}  // namespace roomcast::storage
