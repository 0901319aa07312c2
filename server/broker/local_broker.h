#pragma once

#include <string>

#include "server/core/broker.h"
#include "server/core/event_store.h"

namespace roomcast::broker {

// The embedded default: a single node, so the log is the local one (memory
// or PostgreSQL) and there is nobody else to tell.
class LocalBroker final : public core::Broker {
 public:
  LocalBroker(core::EventStore& log, core::NodeStatus self) : log_(log), self_(std::move(self)) {}

  void Publish(const core::Event& event, std::string_view idempotency_key,
               PublishDone done) override {
    log_.Append(event, idempotency_key, std::move(done));
  }
  void SetHandlers(Handlers) override {}
  void Nodes(NodesDone done) override;
  void AskOthers(std::string, AnswersDone done) override {
    std::move(done)(std::vector<std::string>{});  // There are no others.
  }
  void AskOthersWithin(std::string, std::chrono::milliseconds, AnswersDone done) override {
    std::move(done)(std::vector<std::string>{});
  }
  void AskNode(std::string, std::string, std::chrono::milliseconds, AnswersDone done) override {
    std::move(done)(std::vector<std::string>{});  // No node but this one answers.
  }

 private:
  core::EventStore& log_;
  core::NodeStatus self_;
};

}  // namespace roomcast::broker
