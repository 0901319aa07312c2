// One Engine.IO session, its Socket.IO connection and the room protocol,
// driven through fake transports (tests/unit/net/session_rig.h) by a script
// the fuzzer writes: polls, posts, WebSocket frames, upgrades, writes that
// finish late or fail, timer expiries, control-plane disconnects and emits,
// closes. No sockets: the shard's loop is run by hand, so every
// interleaving is repeatable.
//
// Input: a first line of option letters, then one step per line.
//   options  w start on WebSocket (else polling)   h ping due at once (H: its pong too)
//            c connect timeout due at once         s writes finish at once
//            b browsers may `broadcast`
//   T<text>  a text frame on the WebSocket         B<bytes> a binary frame
//   P<body>  a polling POST (packets split by 0x1E)
//   G        a polling GET (held)                  A the client abandons held GETs
//   U        a WebSocket asks to upgrade, handshake succeeds; u: it fails
//   Q<text>  a text frame on the probe WebSocket   E / e the WebSocket / probe ends
//   W        pending writes finish                 X pending writes fail
//   R        run the loop (posted tasks, flushes, due timers)
//   D / d    the control plane disconnects every socket (closing the connection / not)
//   M<room>  a service emits to <room> (empty: the whole namespace)
//   K        the server closes the session (shutdown)
// Afterwards the session is closed and the loop drained: if any session,
// member or room is left behind, the target aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tests/unit/net/session_rig.h"

namespace {

using roomcast::net::testing::RigOptions;
using roomcast::net::testing::SessionRig;

void Step(SessionRig& rig, char op, std::string_view arg) {
  switch (op) {
    case 'T':
      rig.WebSocketText(arg);
      break;
    case 'B':
      rig.WebSocketBinary(arg);
      break;
    case 'P':
      rig.Post(arg);
      break;
    case 'G':
      rig.Get();
      break;
    case 'A':
      rig.AbandonGets();
      break;
    case 'U':
      rig.Upgrade(/*handshake_ok=*/true);
      break;
    case 'u':
      rig.Upgrade(/*handshake_ok=*/false);
      break;
    case 'Q':
      rig.ProbeText(arg);
      break;
    case 'E':
      rig.WebSocketEnds();
      break;
    case 'e':
      rig.ProbeEnds();
      break;
    case 'W':
      rig.FinishWrites(/*fail=*/false);
      break;
    case 'X':
      rig.FinishWrites(/*fail=*/true);
      break;
    case 'R':
      rig.RunLoop();
      break;
    case 'D':
      rig.DisconnectAll(/*close_connection=*/true);
      break;
    case 'd':
      rig.DisconnectAll(/*close_connection=*/false);
      break;
    case 'M':
      rig.Emit(arg);
      break;
    case 'K':
      rig.Shutdown();
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t end = input.find('\n');
  const std::string_view flags = input.substr(0, end);
  const auto has = [&](char flag) { return flags.find(flag) != std::string_view::npos; };
  SessionRig rig(RigOptions{.websocket = has('w'),
                            .ping_due_at_once = has('h'),
                            .pong_due_at_once = has('H'),
                            .connect_due_at_once = has('c'),
                            .sync_writes = has('s'),
                            .client_broadcast = has('b')});
  for (int steps = 0; end != std::string_view::npos && steps < 256; ++steps) {
    input.remove_prefix(end + 1);
    end = input.find('\n');
    const std::string_view step = input.substr(0, end);
    if (!step.empty()) Step(rig, step.front(), step.substr(1));
  }
  if (!rig.CloseAndDrain()) {
    std::abort();  // something of the session outlived its close
  }
  return 0;
}
