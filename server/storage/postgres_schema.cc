#include "server/storage/postgres_schema.h"

#include <array>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"

namespace roomcast::storage {
namespace {

// Version N is kMigrations[N - 1]. Append only; never edit one that shipped.
constexpr std::array<const char*, 1> kMigrations = {
    // 1: the log's head per namespace (its epoch and last offset) and its events.
    R"sql(
CREATE TABLE roomcast_logs (
  nsp text PRIMARY KEY,
  epoch text NOT NULL,
  last_offset bigint NOT NULL
);
CREATE TABLE roomcast_events (
  nsp text NOT NULL,
  "offset" bigint NOT NULL,
  rooms text[] NOT NULL,
  except_rooms text[] NOT NULL,
  packet text NOT NULL,
  attachments bytea[] NOT NULL,
  idempotency_key text,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (nsp, "offset")
);
CREATE INDEX roomcast_events_idempotency ON roomcast_events (nsp, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX roomcast_events_created_at ON roomcast_events (created_at);
)sql",
};

// Any constant, the same on every node: pg_advisory_xact_lock's key.
constexpr int64_t kMigrationLock = 0x726f6f6d63617374;  // "roomcast"

}  // namespace

int KnownSchemaVersion() { return static_cast<int>(kMigrations.size()); }

absl::Status MigrateSchema(pqxx::connection& connection) {
  pqxx::work transaction(connection);
  transaction.exec(absl::StrCat("SELECT pg_advisory_xact_lock(", kMigrationLock, ")"));
  transaction.exec(
      "CREATE TABLE IF NOT EXISTS roomcast_schema_migrations ("
      "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
  const int current =
      transaction.exec("SELECT coalesce(max(version), 0) FROM roomcast_schema_migrations")[0][0]
          .as<int>();
  if (current > KnownSchemaVersion()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the database's event log schema version ", current,
                     " is newer than this roomcastd knows (up to ", KnownSchemaVersion(),
                     "): run a roomcastd at least as new as the one that migrated it"));
  }
  for (int version = current + 1; version <= KnownSchemaVersion(); ++version) {
    transaction.exec(kMigrations[version - 1]);
    transaction.exec(
        absl::StrCat("INSERT INTO roomcast_schema_migrations (version) VALUES (", version, ")"));
  }
  transaction.commit();
  return absl::OkStatus();
}

}  // namespace roomcast::storage
