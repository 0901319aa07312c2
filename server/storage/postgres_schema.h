#pragma once

#include <pqxx/connection>

#include "absl/status/status.h"

namespace roomcast::storage {

// The newest schema version this binary knows.
int KnownSchemaVersion();

// Creates or migrates the event log's schema, under an advisory lock (nodes
// starting together take turns). Migrations only add, so the previous
// release still runs on a migrated schema (a rollback works); a schema
// newer than this binary knows is FAILED_PRECONDITION, and nothing changes.
absl::Status MigrateSchema(pqxx::connection& connection);

}  // namespace roomcast::storage
