#include "server/storage/postgres_event_store.h"

#include <cstdlib>
#include <map>

#include <spdlog/spdlog.h>
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "server/base/ids.h"
#include "server/base/string_view.h"
#include "server/core/string_list_json.h"
#include "server/storage/postgres_schema.h"

namespace roomcast::storage {
namespace {

namespace json = boost::json;

// After a failed connect, appends fail at once for this long (instead of
// each waiting for its own connect to time out).
constexpr std::chrono::milliseconds kRetryAfter{500};

std::string Why(const std::exception& error) {
  return std::string(absl::StripTrailingAsciiWhitespace(error.what()));
}

absl::Status Unreachable(std::string_view why) {
  return absl::UnavailableError(
      absl::StrCat("PostgreSQL is unreachable (", ToAbsl(why), "): nothing was delivered; retry"));
}

// `ARRAY['a','b']::text[]`, or the empty array.
std::string TextArray(pqxx::transaction_base& txn, const std::vector<std::string>& items) {
  if (items.empty()) {
    return "'{}'::text[]";
  }
  std::vector<std::string> quoted;
  quoted.reserve(items.size());
  for (const std::string& item : items) {
    quoted.push_back(txn.quote(item));
  }
  return absl::StrCat("ARRAY[", absl::StrJoin(quoted, ","), "]::text[]");
}

std::string ByteaArray(pqxx::transaction_base& txn, const std::vector<std::string>& items) {
  if (items.empty()) {
    return "'{}'::bytea[]";
  }
  std::vector<std::string> quoted;
  quoted.reserve(items.size());
  for (const std::string& item : items) {
    quoted.push_back(absl::StrCat(
        txn.quote_raw(reinterpret_cast<const unsigned char*>(item.data()), item.size()),
        "::bytea"));
  }
  return absl::StrCat("ARRAY[", absl::StrJoin(quoted, ","), "]::bytea[]");
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresEventStore>> PostgresEventStore::Open(
    PostgresLogOptions options) {
  // A database that does not answer must not hold a thread for minutes
  // (libpq reads this).
  setenv("PGCONNECT_TIMEOUT", "3", /*overwrite=*/0);
  std::unique_ptr<PostgresEventStore> store(new PostgresEventStore(std::move(options)));
  if (absl::Status status = store->Connect(store->writer_); absl::IsFailedPrecondition(status)) {
    return status;  // A schema this binary cannot read stops startup.
  } else if (!status.ok()) {
    spdlog::warn("storage: postgres not reachable yet, emits fail until it is error=\"{}\"",
                 ToStd(status.message()));
  }
  store->writer_thread_ = std::thread([s = store.get()] { s->WriteLoop(); });
  store->reader_thread_ = std::thread([s = store.get()] { s->ReadLoop(); });
  return store;
}

PostgresEventStore::PostgresEventStore(PostgresLogOptions options) : options_(std::move(options)) {}

PostgresEventStore::~PostgresEventStore() { Stop(); }

void PostgresEventStore::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_writer_.notify_all();
  wake_reader_.notify_all();
  if (writer_thread_.joinable()) {
    writer_thread_.join();
  }
  if (reader_thread_.joinable()) {
    reader_thread_.join();
  }
}

absl::Status PostgresEventStore::Connect(Link& link) {
  if (link.connection != nullptr && link.connection->is_open()) {
    return absl::OkStatus();
  }
  link.connection.reset();
  const auto now = std::chrono::steady_clock::now();
  if (!link.down_because.empty() && now - link.last_attempt < kRetryAfter) {
    return Unreachable(link.down_because);
  }
  link.last_attempt = now;
  try {
    auto connection = std::make_unique<pqxx::connection>(options_.url);
    if (absl::Status status = MigrateSchema(*connection); !status.ok()) {
      link.down_because = std::string(ToStd(status.message()));
      return status;
    }
    // Where each log stands, for sessions that connect before any event.
    pqxx::read_transaction txn(*connection);
    for (const pqxx::row& row : txn.exec("SELECT nsp, epoch, last_offset FROM roomcast_logs")) {
      NoteHead(row[0].c_str(), core::StreamPosition{row[2].as<uint64_t>(), row[1].c_str()});
    }
    txn.commit();
    if (!link.down_because.empty()) {
      spdlog::info("storage: postgres up");
    }
    link.down_because.clear();
    link.connection = std::move(connection);
    return absl::OkStatus();
  } catch (const std::exception& error) {
    if (link.down_because.empty()) {
      spdlog::warn("storage: postgres down error=\"{}\"", Why(error));
    }
    link.down_because = Why(error);
    return Unreachable(link.down_because);
  }
}

void PostgresEventStore::Append(const core::Event& event, std::string_view idempotency_key,
                                AppendDone done) {
  if (event.packet->is_volatile) {
    std::move(done)(core::Published{});  // Neither numbered nor kept.
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      appends_.push_back(PendingAppend{event, std::string(idempotency_key), std::move(done)});
      done = nullptr;
    }
  }
  if (done) {
    std::move(done)(absl::UnavailableError("shutting down: nothing was delivered; retry"));
    return;
  }
  wake_writer_.notify_one();
}

void PostgresEventStore::WriteLoop() {
  for (;;) {
    std::vector<PendingAppend> batch;
    {
      std::unique_lock lock(mutex_);
      wake_writer_.wait(lock, [&] { return stopping_ || !appends_.empty(); });
      if (stopping_ && appends_.empty()) {
        return;
      }
      // Everything that came while the last batch committed goes together.
      while (!appends_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(appends_.front()));
        appends_.pop_front();
      }
    }
    if (absl::Status status = Connect(writer_); !status.ok()) {
      for (PendingAppend& append : batch) {
        append.result = status;
      }
    } else {
      Commit(batch);
    }
    for (PendingAppend& append : batch) {
      std::move(append.done)(std::move(append.result));
    }
  }
}

void PostgresEventStore::Commit(std::vector<PendingAppend>& batch) {
  // By namespace, in name order: every writer locks heads in the same order.
  std::map<std::string, std::vector<PendingAppend*>> by_nsp;
  for (PendingAppend& append : batch) {
    by_nsp[append.event.nsp].push_back(&append);
  }
  std::vector<std::pair<std::string, core::StreamPosition>> heads;
  try {
    pqxx::work txn(*writer_.connection);
    for (auto& [nsp, appends] : by_nsp) {
      const std::string quoted_nsp = txn.quote(nsp);
      txn.exec(absl::StrCat("INSERT INTO roomcast_logs (nsp, epoch, last_offset) VALUES (",
                            quoted_nsp, ", ", txn.quote(base::NewId()),
                            ", 0) ON CONFLICT (nsp) DO NOTHING"));
      const pqxx::row head = txn.exec(
          absl::StrCat("SELECT epoch, last_offset FROM roomcast_logs WHERE nsp = ", quoted_nsp,
                       " FOR UPDATE"))[0];
      const std::string epoch = head[0].c_str();
      uint64_t last = head[1].as<uint64_t>();
      // Keys seen in the window, on any node, before or after a restart.
      absl::flat_hash_map<std::string, uint64_t> seen;
      std::vector<std::string> keys;
      for (const PendingAppend* append : appends) {
        if (!append->idempotency_key.empty()) {
          keys.push_back(txn.quote(append->idempotency_key));
        }
      }
      if (!keys.empty()) {
        for (const pqxx::row& row : txn.exec(absl::StrCat(
                 "SELECT idempotency_key, \"offset\" FROM roomcast_events WHERE nsp = ", quoted_nsp,
                 " AND idempotency_key IN (", absl::StrJoin(keys, ","),
                 ") AND created_at > now() - interval '", options_.idempotency_window.count(),
                 " milliseconds'"))) {
          seen.emplace(row[0].c_str(), row[1].as<uint64_t>());
        }
      }
      std::vector<std::string> rows;
      for (PendingAppend* append : appends) {
        const std::string& key = append->idempotency_key;
        if (auto it = key.empty() ? seen.end() : seen.find(key); it != seen.end()) {
          append->result = core::Published{core::StreamPosition{it->second, epoch}, true};
          continue;
        }
        const core::Event& event = append->event;
        append->result = core::Published{core::StreamPosition{++last, epoch}, false};
        if (!key.empty()) {
          seen.emplace(key, last);
        }
        rows.push_back(absl::StrCat(
            "(", quoted_nsp, ",", last, ",", TextArray(txn, event.rooms), ",",
            TextArray(txn, event.except), ",", txn.quote(event.packet->text), ",",
            ByteaArray(txn, event.packet->attachments), ",", key.empty() ? "NULL" : txn.quote(key),
            ",to_timestamp(", event.time_ms, " / 1000.0))"));
      }
      if (!rows.empty()) {
        txn.exec(
            absl::StrCat("INSERT INTO roomcast_events (nsp, \"offset\", rooms, except_rooms, "
                         "packet, attachments, idempotency_key, created_at) VALUES ",
                         absl::StrJoin(rows, ",")));
        txn.exec(absl::StrCat("UPDATE roomcast_logs SET last_offset = ", last,
                              " WHERE nsp = ", quoted_nsp));
      }
      heads.emplace_back(nsp, core::StreamPosition{last, epoch});
    }
    txn.commit();
  } catch (const pqxx::in_doubt_error& error) {
    // The commit may have happened: the same idempotency key tells.
    for (PendingAppend& append : batch) {
      append.result =
          absl::UnavailableError(absl::StrCat("PostgreSQL did not confirm the commit (", Why(error),
                                              "): retry with the same idempotency key"));
    }
    writer_.connection.reset();
    return;
  } catch (const std::exception& error) {
    const bool lost = writer_.connection == nullptr || !writer_.connection->is_open();
    if (lost) {
      writer_.connection.reset();
      writer_.down_because = Why(error);
      writer_.last_attempt = std::chrono::steady_clock::now();
      spdlog::warn("storage: postgres down error=\"{}\"", writer_.down_because);
    }
    for (PendingAppend& append : batch) {
      append.result =
          lost ? Unreachable(Why(error))
               : absl::UnavailableError(absl::StrCat("PostgreSQL refused the events (", Why(error),
                                                     "): nothing was delivered; retry"));
    }
    return;
  }
  for (const auto& [nsp, head] : heads) {
    NoteHead(nsp, head);
  }
}

void PostgresEventStore::Read(core::LogQuery query, ReadDone done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      reads_.emplace_back(std::move(query), std::move(done));
      done = nullptr;
    }
  }
  if (done) {
    std::move(done)(absl::UnavailableError("shutting down"));
    return;
  }
  wake_reader_.notify_one();
}

void PostgresEventStore::ReadLoop() {
  // Pruning runs here, between reads, never in the writer's way.
  const auto prune_every = std::clamp<std::chrono::steady_clock::duration>(
      options_.retention / 4, std::chrono::seconds(1), std::chrono::seconds(5));
  auto next_prune = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (;;) {
    std::optional<std::pair<core::LogQuery, ReadDone>> read;
    {
      std::unique_lock lock(mutex_);
      wake_reader_.wait_until(lock, next_prune, [&] { return stopping_ || !reads_.empty(); });
      if (stopping_) {
        for (auto& [query, done] : reads_) {
          std::move(done)(absl::UnavailableError("shutting down"));
        }
        return;
      }
      if (!reads_.empty()) {
        read = std::move(reads_.front());
        reads_.pop_front();
      }
    }
    if (read) {
      std::move(read->second)(ReadPage(read->first));
    }
    if (std::chrono::steady_clock::now() >= next_prune) {
      Prune();
      next_prune = std::chrono::steady_clock::now() + prune_every;
    }
  }
}

absl::StatusOr<core::LogPage> PostgresEventStore::ReadPage(const core::LogQuery& query) {
  if (absl::Status status = Connect(reader_); !status.ok()) {
    return status;
  }
  try {
    pqxx::read_transaction txn(*reader_.connection);
    const std::string nsp = txn.quote(query.nsp);
    core::LogPage page;
    const pqxx::result head =
        txn.exec(absl::StrCat("SELECT epoch, last_offset FROM roomcast_logs WHERE nsp = ", nsp));
    if (head.empty()) {
      return page;
    }
    page.epoch = head[0][0].c_str();
    page.last = head[0][1].as<uint64_t>();
    // What pruning has not reached yet is over the size all the same.
    const uint64_t floor = page.last > options_.capacity ? page.last - options_.capacity : 0;
    page.first = std::max<uint64_t>(
        floor + 1, txn.exec(absl::StrCat("SELECT coalesce(min(\"offset\"), ", page.last + 1,
                                         ") FROM roomcast_events WHERE nsp = ", nsp))[0][0]
                       .as<uint64_t>());
    const std::string room_filter =
        query.room.empty()
            ? ""
            : absl::StrCat(" AND (rooms = '{}' OR ", txn.quote(query.room), " = ANY(rooms))");
    const pqxx::result rows = txn.exec(absl::StrCat(
        "SELECT \"offset\", array_to_json(rooms), array_to_json(except_rooms), packet, "
        "array_to_json(attachments), (extract(epoch from created_at) * 1000)::bigint "
        "FROM roomcast_events WHERE nsp = ",
        nsp, " AND \"offset\" > ", std::max(query.after, floor), room_filter,
        " ORDER BY \"offset\" ", query.reverse ? "DESC" : "ASC", " LIMIT ", query.limit));
    for (const pqxx::row& row : rows) {
      core::Event event;
      event.nsp = query.nsp;
      event.position = core::StreamPosition{row[0].as<uint64_t>(), page.epoch};
      event.rooms = core::ParseStringList(row[1].c_str());
      event.except = core::ParseStringList(row[2].c_str());
      std::vector<std::string> attachments;
      for (const std::string& escaped : core::ParseStringList(row[4].c_str())) {
        attachments.push_back(txn.unesc_raw(escaped));
      }
      event.packet = core::MakePacket(row[3].c_str(), std::move(attachments));
      event.time_ms = row[5].as<int64_t>();
      page.events.push_back(std::move(event));
    }
    NoteHead(query.nsp, core::StreamPosition{page.last, page.epoch});
    return page;
  } catch (const std::exception& error) {
    reader_.connection.reset();
    return Unreachable(Why(error));
  }
}

void PostgresEventStore::Prune() {
  if (!Connect(reader_).ok()) {
    return;
  }
  try {
    pqxx::nontransaction txn(*reader_.connection);
    const pqxx::result old =
        txn.exec(absl::StrCat("DELETE FROM roomcast_events WHERE created_at < now() - interval '",
                              options_.retention.count(), " seconds'"));
    const pqxx::result over = txn.exec(
        absl::StrCat("DELETE FROM roomcast_events e USING roomcast_logs l WHERE e.nsp = l.nsp AND "
                     "e.\"offset\" <= l.last_offset - ",
                     options_.capacity));
    if (old.affected_rows() + over.affected_rows() > 0) {
      spdlog::debug("storage: pruned expired={} over_size={}", old.affected_rows(),
                    over.affected_rows());
    }
  } catch (const std::exception& error) {
    reader_.connection.reset();
    spdlog::warn("storage: pruning failed error=\"{}\"", Why(error));
  }
}

void PostgresEventStore::NoteHead(const std::string& nsp, const core::StreamPosition& head) const {
  absl::MutexLock lock(&heads_mutex_);
  core::StreamPosition& known = heads_[nsp];
  if (known.epoch != head.epoch || known.offset < head.offset) {
    known = head;
  }
}

core::StreamPosition PostgresEventStore::Head(const std::string& nsp) const {
  absl::MutexLock lock(&heads_mutex_);
  auto it = heads_.find(nsp);
  return it == heads_.end() ? core::StreamPosition{} : it->second;
}

}  // namespace roomcast::storage
