#include "server/core/event.h"

#include "server/codec/socketio_packet.h"

namespace roomcast::core {

SharedPacket TaggedPacket(const Event& event) {
  auto packet = std::make_shared<EncodedPacket>(*event.packet);
  packet->text = socketio::WithOffsetArgument(
      event.packet->text, socketio::RecoveryOffset(event.position.epoch, event.position.offset));
  packet->offset = event.position.offset;
  return packet;
}

}  // namespace roomcast::core
