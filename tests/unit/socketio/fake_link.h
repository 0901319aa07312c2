#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/socketio/link.h"

namespace roomcast::socketio {

// Records what the Socket.IO layer sends (attachments as "<bin:...>") and
// whether it closed the session; tasks posted to the session's thread run
// when the test says.
class FakeLink : public Link {
 public:
  bool Send(const core::SharedPacket& packet) override {
    sent.push_back(packet->text);
    for (const std::string& attachment : packet->attachments) {
      sent.push_back("<bin:" + attachment + ">");
    }
    return true;
  }
  void Close(std::string_view reason) override { closed = std::string(reason); }
  std::function<void(Task)> Poster() const override {
    return [posted = posted](Task task) { posted->push_back(std::move(task)); };
  }
  // Runs what was posted, and what that posts, until nothing is left.
  void RunPosted() {
    while (!posted->empty()) {
      std::vector<Task> tasks = std::move(*posted);
      posted->clear();
      for (Task& task : tasks) {
        std::move(task)();
      }
    }
  }

  std::vector<std::string> sent;
  std::optional<std::string> closed;
  std::shared_ptr<std::vector<Task>> posted = std::make_shared<std::vector<Task>>();
};

}  // namespace roomcast::socketio
