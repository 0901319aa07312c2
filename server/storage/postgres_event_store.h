#pragma once

#include <pqxx/connection>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/core/event_store.h"

namespace roomcast::storage {

struct PostgresLogOptions {
  std::string url;
  size_t capacity = 1000;  // Events kept per namespace.
  std::chrono::seconds retention{7 * 24 * 3600};
  std::chrono::milliseconds idempotency_window{300000};
  size_t max_batch = 1000;  // Appends committed together, at most.
};

// The durable event log (`--event_log=postgres`): an append is answered only
// once its transaction committed. One writer thread takes every append
// waiting and commits them together (group commit: durability costs one
// fsync per batch, not per event); a reader thread serves reads and prunes
// old events, so neither holds the other up. Each namespace's head row is
// locked while a batch numbers its events, so nodes sharing the database
// never hand out an offset twice, and a restart continues above the last.
class PostgresEventStore final : public core::EventStore {
 public:
  // Connects and migrates the schema. A database that does not answer yet
  // is not an error (appends fail UNAVAILABLE until it does); a schema newer
  // than this binary knows is.
  static absl::StatusOr<std::unique_ptr<PostgresEventStore>> Open(PostgresLogOptions options);
  ~PostgresEventStore() override;
  // Commits what is waiting, answers every call, and joins the threads;
  // later calls fail at once. Nothing is called back after it returns.
  void Stop();

  void Append(const core::Event& event, std::string_view idempotency_key, AppendDone done) override;
  void Read(core::LogQuery query, ReadDone done) override;
  core::StreamPosition Head(const std::string& nsp) const override;

 private:
  struct PendingAppend {
    core::Event event;
    std::string idempotency_key;
    AppendDone done;
    absl::StatusOr<core::Published> result = absl::UnknownError("not committed");
  };
  // A thread with its own connection, reconnecting (and re-checking the
  // schema) when the connection breaks.
  struct Link {
    std::unique_ptr<pqxx::connection> connection;
    std::chrono::steady_clock::time_point last_attempt{};
    std::string down_because;
  };

  explicit PostgresEventStore(PostgresLogOptions options);
  // The link's connection, or why there is none.
  absl::Status Connect(Link& link);
  void WriteLoop();
  void ReadLoop();
  void Commit(std::vector<PendingAppend>& batch);
  absl::StatusOr<core::LogPage> ReadPage(const core::LogQuery& query);
  void Prune();
  void NoteHead(const std::string& nsp, const core::StreamPosition& head) const;

  const PostgresLogOptions options_;
  Link writer_;
  Link reader_;

  std::mutex mutex_;
  std::condition_variable wake_writer_;
  std::condition_variable wake_reader_;
  std::deque<PendingAppend> appends_;
  std::deque<std::pair<core::LogQuery, ReadDone>> reads_;
  bool stopping_ = false;

  mutable absl::Mutex heads_mutex_;
  mutable absl::flat_hash_map<std::string, core::StreamPosition> heads_
      ABSL_GUARDED_BY(heads_mutex_);

  std::thread writer_thread_;
  std::thread reader_thread_;
};

}  // namespace roomcast::storage
