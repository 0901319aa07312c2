#pragma once

#include <grpcpp/support/server_callback.h>

#include "absl/status/status.h"
#include "server/base/counters.h"
#include "server/control/client_event_hub.h"

namespace roomcast::control {

// One ReceiveClientEvents call: registers with the hub, sends its initial
// metadata (so the caller knows it is in place), then writes the hub's
// events in order, one write in flight; what waits is bounded in bytes and
// a consumer that falls behind by more is cut with RESOURCE_EXHAUSTED.
// gRPC owns it: it deletes itself in OnDone, after the hub forgot it.
class ClientEventStream final : public grpc::ServerWriteReactor<v1::ClientEvent> {
 public:
  ClientEventStream(ClientEventHub& hub, ClientEventFilter filter, size_t max_buffer_bytes,
                    base::Counters& counters);

  void OnSendInitialMetadataDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // A call refused before it started.
  static grpc::ServerWriteReactor<v1::ClientEvent>* Refuse(const absl::Status& status);

 private:
  class Outbox;

  ClientEventHub& hub_;
  std::shared_ptr<Outbox> outbox_;
  uint64_t handle_ = 0;
};

}  // namespace roomcast::control
