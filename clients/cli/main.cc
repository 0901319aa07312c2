// roomcast: the command line for Roomcast's control plane, `tail` to watch a
// room as a browser would, `events` to receive what browsers send and `ask`
// to emit and wait for acks. Exit codes: 0 ok, 1 server error, 2 usage.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "clients/cli/arguments.h"
#include "clients/cli/events.h"
#include "clients/cli/tail.h"
#include "clients/cli/top.h"
#include "clients/cpp/client.h"
#include "clients/cpp/client_tls.h"

namespace roomcast::cli {
namespace {

constexpr int kOk = 0;
constexpr int kServerError = 1;
constexpr int kUsage = 2;

constexpr char kEnvironment[] =
    "Environment: ROOMCAST_GRPC_TARGET (gRPC, default localhost:50051), INTERNAL_API_URL\n"
    "(the HTTP shim, default http://localhost:3001, used when gRPC is unreachable),\n"
    "INTERNAL_API_KEY, SOCKET_SERVER_URL (for tail, default http://localhost:3001),\n"
    "ROOMCAST_TOKEN (tail's auth token when the server requires one). events needs\n"
    "gRPC (a stream has no HTTP fallback).\n";

struct Command {
  std::string usage;
  std::vector<std::string> options;  // Take a value.
  std::vector<std::string> switches;
  int (*run)(const Arguments& args, bool json);
};

int Usage(const std::string& message) {
  std::fprintf(stderr, "roomcast: %s (see roomcast --help)\n", message.c_str());
  return kUsage;
}

int ServerError(const absl::Status& status) {
  std::fprintf(stderr, "roomcast: %s\n", status.ToString().c_str());
  return kServerError;
}

std::string Json(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

std::unique_ptr<Client> Connect() {
  absl::StatusOr<std::unique_ptr<Client>> client = Client::FromEnvironment();
  if (!client.ok()) {
    std::fprintf(stderr, "roomcast: %s\n", client.status().ToString().c_str());
    std::exit(kUsage);
  }
  return *std::move(client);
}

// --socket ID | --in-room R | --user U, and --namespace.
std::optional<v1::SocketSelector> Selector(const Arguments& args) {
  v1::SocketSelector selector;
  selector.set_namespace_(args.One("namespace").value_or("/"));
  int given = 0;
  if (auto id = args.One("socket")) {
    selector.set_socket_id(*id);
    ++given;
  }
  if (auto room = args.One("in-room")) {
    selector.set_room(*room);
    ++given;
  }
  if (auto user = args.One("user")) {
    selector.set_user_id(*user);
    ++given;
  }
  if (given != 1) {
    return std::nullopt;
  }
  return selector;
}

int Emit(const Arguments& args, bool json) {
  v1::EmitRequest request;
  request.set_namespace_(args.One("namespace").value_or("/"));
  for (const std::string& room : args.All("room")) {
    request.add_rooms(room);
  }
  for (const std::string& room : args.All("except")) {
    request.add_except_rooms(room);
  }
  std::optional<std::string> event = args.One("event");
  if (!event) {
    return Usage("emit needs --event");
  }
  request.set_event(*event);
  std::string data = args.One("data").value_or("");
  if (!args.Has("data")) {
    data.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  if (!data.empty() &&
      !google::protobuf::util::JsonStringToMessage(data, request.mutable_data()).ok()) {
    return Usage(absl::StrCat("--data is not JSON: ", data));
  }
  request.set_volatile_(args.Has("volatile"));
  request.set_idempotency_key(args.One("key").value_or(""));
  absl::StatusOr<v1::EmitResponse> response = Connect()->Emit(request);
  if (!response.ok()) {
    return ServerError(response.status());
  }
  if (json) {
    std::printf("%s\n", Json(*response).c_str());
  } else {
    // Empty when no log took the event (a volatile one, offset 0).
    const std::string epoch =
        response->epoch().empty() ? "" : absl::StrCat(" in epoch ", response->epoch());
    std::printf("delivered to %llu socket(s), offset %llu%s%s\n",
                static_cast<unsigned long long>(response->recipients()),
                static_cast<unsigned long long>(response->offset()), epoch.c_str(),
                response->duplicate() ? " (duplicate: not sent again)" : "");
  }
  return kOk;
}

int Status(const Arguments&, bool json) {
  absl::StatusOr<v1::StatusResponse> status = Connect()->Status();
  if (!status.ok()) {
    return ServerError(status.status());
  }
  if (json) {
    std::printf("%s\n", Json(*status).c_str());
    return kOk;
  }
  std::printf("node %s (version %s), up %llus\n", status->node_id().c_str(),
              status->version().c_str(), static_cast<unsigned long long>(status->uptime_seconds()));
  std::printf("%llu socket(s) connected, %llu room(s)\n",
              static_cast<unsigned long long>(status->connections()),
              static_cast<unsigned long long>(status->rooms()));
  for (const v1::RoomSize& room : status->top_rooms()) {
    std::printf("  %s %s: %llu\n", room.namespace_().c_str(), room.room().c_str(),
                static_cast<unsigned long long>(room.members()));
  }
  const auto& emits = status->counters().emits_by_transport();
  std::printf("emits: grpc %llu, http %llu; deliveries %llu\n",
              static_cast<unsigned long long>(emits.contains("grpc") ? emits.at("grpc") : 0),
              static_cast<unsigned long long>(emits.contains("http") ? emits.at("http") : 0),
              static_cast<unsigned long long>(status->counters().deliveries()));
  return kOk;
}

int Health(const Arguments&, bool json) {
  absl::StatusOr<v1::HealthResponse> health = Connect()->Health();
  if (!health.ok()) {
    return ServerError(health.status());
  }
  if (json) {
    std::printf("%s\n", Json(*health).c_str());
  } else {
    std::printf("%s\n", v1::ServingStatus_Name(health->status()).c_str());
    for (const v1::HealthCheck& check : health->checks()) {
      std::printf("  %-8s %-11s %.2f ms  %s\n", check.name().c_str(),
                  v1::ServingStatus_Name(check.status()).c_str(), check.latency_ms(),
                  check.detail().c_str());
    }
  }
  return health->status() == v1::NOT_SERVING ? kServerError : kOk;
}

int ChangeRooms(const Arguments& args, bool json, bool join) {
  std::optional<v1::SocketSelector> selector = Selector(args);
  if (!selector) {
    return Usage("give exactly one of --socket, --in-room, --user");
  }
  v1::ChangeRoomsRequest request;
  *request.mutable_sockets() = *selector;
  for (const std::string& room : args.All("room")) {
    request.add_rooms(room);
  }
  if (request.rooms().empty()) {
    return Usage("give at least one --room");
  }
  std::unique_ptr<Client> client = Connect();
  absl::StatusOr<v1::ChangeRoomsResponse> response =
      join ? client->JoinRooms(request) : client->LeaveRooms(request);
  if (!response.ok()) {
    return ServerError(response.status());
  }
  if (json) {
    std::printf("%s\n", Json(*response).c_str());
  } else {
    std::printf("%llu socket(s) %s\n", static_cast<unsigned long long>(response->sockets()),
                join ? "joined" : "left");
  }
  return kOk;
}

int Join(const Arguments& args, bool json) { return ChangeRooms(args, json, true); }
int Leave(const Arguments& args, bool json) { return ChangeRooms(args, json, false); }

int Disconnect(const Arguments& args, bool json) {
  std::optional<v1::SocketSelector> selector = Selector(args);
  if (!selector) {
    return Usage("give exactly one of --socket, --in-room, --user");
  }
  v1::DisconnectSocketsRequest request;
  *request.mutable_sockets() = *selector;
  request.set_close_connection(args.Has("close"));
  absl::StatusOr<v1::DisconnectSocketsResponse> response = Connect()->DisconnectSockets(request);
  if (!response.ok()) {
    return ServerError(response.status());
  }
  if (json) {
    std::printf("%s\n", Json(*response).c_str());
  } else {
    std::printf("%llu socket(s) disconnected\n",
                static_cast<unsigned long long>(response->sockets()));
  }
  return kOk;
}

int History(const Arguments& args, bool json) {
  v1::HistoryRequest request;
  request.set_namespace_(args.One("namespace").value_or("/"));
  request.set_room(args.One("room").value_or(""));
  if (auto after = args.One("after")) {
    uint64_t offset = 0;
    if (!absl::SimpleAtoi(*after, &offset)) {
      return Usage(absl::StrCat("--after is not an offset: ", *after));
    }
    request.set_after_offset(offset);
  }
  // The server enforces 1 to 1000 (INVALID_ARGUMENT): only the number is checked here.
  if (auto limit = args.One("limit")) {
    uint32_t count = 0;
    if (!absl::SimpleAtoi(*limit, &count)) {
      return Usage(absl::StrCat("--limit is not a number: ", *limit));
    }
    request.set_limit(count);
  }
  request.set_reverse(args.Has("reverse"));
  absl::StatusOr<v1::HistoryResponse> response = Connect()->History(request);
  if (!response.ok()) {
    return ServerError(response.status());
  }
  if (json) {
    std::printf("%s\n", Json(*response).c_str());
  } else {
    for (const v1::HistoryEvent& event : response->events()) {
      std::printf("%s\n", Json(event).c_str());
    }
  }
  return kOk;
}

int Top(const Arguments& args, bool) {
  TopOptions options;
  options.cluster = args.Has("cluster");
  options.clear = isatty(STDOUT_FILENO) == 1;
  if (args.Has("once")) {
    options.iterations = 1;
  }
  if (auto iterations = args.One("iterations")) {
    if (!absl::SimpleAtoi(*iterations, &options.iterations) || options.iterations < 1) {
      return Usage("--iterations must be a whole number of frames, at least 1");
    }
  }
  std::unique_ptr<Client> client = Connect();
  v1::StatusRequest request;
  request.set_top_rooms(10);
  absl::Status status = RunTop(options, [&] { return client->Status(request); });
  return status.ok() ? kOk : ServerError(status);
}

int Tail(const Arguments& args, bool json) {
  const ClientOptions env = ClientOptions::FromEnvironment();
  TailOptions options;
  options.socket_url = env.socket_url;
  absl::StatusOr<std::optional<ClientTls>> tls = ClientTls::Load(env);
  if (!tls.ok()) {
    return Usage(std::string(tls.status().message()));
  }
  if (*tls) {
    absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> context = (*tls)->SslContext();
    if (!context.ok()) {
      return Usage(std::string(context.status().message()));
    }
    options.tls = *std::move(context);
  }
  options.token = env.token;
  options.nsp = args.One("namespace").value_or("/");
  options.rooms = args.All("room");
  if (options.rooms.empty()) {
    return Usage("tail needs --room");
  }
  absl::Status status = cli::Tail(
      options,
      [](const std::string& line) {
        std::printf("%s\n", line.c_str());
        std::fflush(stdout);
      },
      [&](const std::string& reply) {
        std::fprintf(stderr, "roomcast: tailing %s in %s (%s)\n",
                     absl::StrJoin(options.rooms, ", ").c_str(), options.nsp.c_str(),
                     reply.c_str());
      });
  return status.ok() ? kOk : ServerError(status);
}

int Events(const Arguments& args, bool) {
  EventsOptions options;
  v1::ReceiveClientEventsRequest& request = options.request;
  request.set_namespace_(args.One("namespace").value_or("/"));
  request.set_group(args.One("group").value_or(""));
  for (const std::string& list : args.All("events")) {
    for (absl::string_view name : absl::StrSplit(list, ',')) {
      name = absl::StripAsciiWhitespace(name);
      if (!name.empty()) {
        request.add_events(std::string(name));
      }
    }
  }
  request.set_lifecycle(args.Has("lifecycle"));
  if (auto ack = args.One("ack")) {
    google::protobuf::ListValue list;
    if (!google::protobuf::util::JsonStringToMessage(*ack, &list).ok()) {
      return Usage(absl::StrCat("--ack takes a JSON array (the ack's arguments), got: ", *ack));
    }
    options.ack_args_json = *ack;
  }
  // Before the client starts any thread, so that only ReceiveEvents sees them.
  const sigset_t stop_signals = BlockStopSignals();
  std::unique_ptr<Client> client = Connect();
  std::string what = absl::StrCat("receiving client events in ", request.namespace_());
  if (!request.group().empty()) {
    absl::StrAppend(&what, ", group ", request.group());
  }
  if (!request.events().empty()) {
    absl::StrAppend(&what, ", events ", absl::StrJoin(request.events(), ","));
  }
  if (request.lifecycle()) {
    absl::StrAppend(&what, ", with lifecycle");
  }
  if (options.ack_args_json) {
    absl::StrAppend(&what, ", acking with ", *options.ack_args_json);
  }
  std::fprintf(stderr, "roomcast: %s\n", what.c_str());
  absl::Status status = ReceiveEvents(
      *client, options, stop_signals,
      [](const std::string& line) {
        std::printf("%s\n", line.c_str());
        std::fflush(stdout);
      },
      [](const std::string& note) { std::fprintf(stderr, "roomcast: %s\n", note.c_str()); });
  return status.ok() ? kOk : ServerError(status);
}

int Ask(const Arguments& args, bool) {
  v1::EmitWithAckRequest request;
  request.set_namespace_(args.One("namespace").value_or("/"));
  int given = 0;
  if (auto id = args.One("socket")) {
    request.set_socket_id(*id);
    ++given;
  }
  if (auto room = args.One("room")) {
    request.set_room(*room);
    ++given;
  }
  if (auto user = args.One("user")) {
    request.set_user_id(*user);
    ++given;
  }
  if (given != 1) {
    return Usage("give exactly one of --socket, --room, --user");
  }
  std::optional<std::string> event = args.One("event");
  if (!event) {
    return Usage("ask needs --event");
  }
  request.set_event(*event);
  if (auto data = args.One("data");
      data && !google::protobuf::util::JsonStringToMessage(*data, request.mutable_data()).ok()) {
    return Usage(absl::StrCat("--data is not JSON: ", *data));
  }
  std::optional<std::string> timeout = args.One("timeout_ms");
  if (!timeout) {
    timeout = args.One("timeout-ms");
  }
  if (timeout) {
    uint32_t ms = 0;
    if (!absl::SimpleAtoi(*timeout, &ms)) {
      return Usage(absl::StrCat("--timeout_ms is not a number of milliseconds: ", *timeout));
    }
    request.set_timeout_ms(ms);
  }
  absl::StatusOr<v1::EmitWithAckResponse> response = Connect()->EmitWithAck(request);
  if (!response.ok()) {
    return ServerError(response.status());
  }
  std::printf("%s\n", Json(*response).c_str());
  return kOk;
}

const std::map<std::string, Command>& Commands() {
  using Names = std::vector<std::string>;
  const Names selectors = {"socket", "in-room", "user", "namespace"};
  const Names selectors_and_rooms = {"socket", "in-room", "user", "namespace", "room"};
  static const auto* commands = new std::map<std::string, Command>{
      {"emit",
       Command{"emit --room R [--room R2] [--except R] --event E [--data JSON] [--namespace /]\n"
               "     [--volatile] [--key IDEMPOTENCY_KEY]\n"
               "  Sends an event to rooms (none: the whole namespace). Without --data, reads\n"
               "  the JSON from standard input.",
               Names{"room", "except", "event", "data", "namespace", "key"},
               Names{"volatile", "json"}, Emit}},
      {"status", Command{"status\n  Connections, rooms, counters and latency of the server.",
                         Names{}, Names{"json"}, Status}},
      {"health",
       Command{
           "health\n  SERVING / DEGRADED / NOT_SERVING with each check; exit 1 when NOT_SERVING.",
           Names{}, Names{"json"}, Health}},
      {"join", Command{"join (--socket ID | --in-room R | --user U) --room R [--room R2] "
                       "[--namespace /]\n  Makes the selected sockets join rooms.",
                       selectors_and_rooms, Names{"json"}, Join}},
      {"leave", Command{"leave (--socket ID | --in-room R | --user U) --room R [--room R2] "
                        "[--namespace /]\n  Makes the selected sockets leave rooms.",
                        selectors_and_rooms, Names{"json"}, Leave}},
      {"disconnect",
       Command{"disconnect (--socket ID | --in-room R | --user U) [--close] [--namespace /]\n"
               "  Disconnects the selected sockets (--close ends their whole connection).",
               selectors, Names{"close", "json"}, Disconnect}},
      {"history",
       Command{"history [--room R] [--after OFFSET] [--limit N] [--reverse] [--namespace /]\n"
               "  Prints the events the namespace's log still holds, one JSON line each, oldest\n"
               "  first (--reverse: newest first): those after OFFSET, at most N (1 to 1000,\n"
               "  default 100), only those that targeted room R when given.",
               Names{"room", "after", "limit", "namespace"}, Names{"reverse", "json"}, History}},
      {"top", Command{"top [--cluster] [--once | --iterations=N]\n"
                      "  Refreshed every second: connections, emits/s, deliveries/s, drops by\n"
                      "  reason, p99 emit latency and the top rooms (--cluster: every node's\n"
                      "  sockets, rooms and rates, and the cluster's, between heartbeats). q or "
                      "Ctrl-C quits; --once / --iterations=N print\n"
                      "  that many frames (rates over one second each) and exit.",
                      Names{"iterations"}, Names{"cluster", "once"}, Top}},
      {"tail",
       Command{"tail --room R [--room R2] [--namespace /]\n"
               "  Connects like a browser (Socket.IO over WebSocket) and prints each event\n"
               "  the rooms get as a JSON line, until interrupted.",
               Names{"room", "namespace"}, Names{"json"}, Tail}},
      {"events",
       Command{"events [--namespace /] [--group G] [--events a,b] [--lifecycle] [--ack JSON]\n"
               "  Receives the events browsers send (ReceiveClientEvents) and prints each as a\n"
               "  JSON line {id, namespace, event, kind, args, socketId, userId, rooms, nodeId,\n"
               "  wantsAck, time, reason}, reconnecting when the stream ends, until SIGINT or\n"
               "  SIGTERM. --events: only these names (default all); --group: streams of one\n"
               "  group share the events; --lifecycle: connect, disconnect, join and leave too;\n"
               "  --ack JSON: acks every event that wants an ack with that array of arguments.",
               Names{"namespace", "group", "events", "ack"}, Names{"lifecycle", "json"}, Events}},
      {"ask",
       Command{"ask (--socket ID | --room R | --user U) --event E [--data JSON]\n"
               "     [--timeout_ms N] [--namespace /]\n"
               "  Emits an event and waits up to N ms (default 5000) for each socket's ack;\n"
               "  prints {\"replies\":[{\"socketId\",\"args\"}],\"timedOut\":[socket ids]}.",
               Names{"socket", "room", "user", "event", "data", "timeout_ms", "timeout-ms",
                     "namespace"},
               Names{"json"}, Ask}},
  };
  return *commands;
}

void PrintHelp() {
  std::printf("usage: roomcast [--json] COMMAND [options]   (roomcast COMMAND --help for one)\n\n");
  for (const auto& [name, command] : Commands()) {
    std::printf("roomcast %s\n\n", command.usage.c_str());
  }
  std::printf("--json prints the server's answer as JSON (proto3 mapping) for scripts.\n%s",
              kEnvironment);
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  bool json = false;
  while (!args.empty() &&
         (args.front() == "--json" || args.front() == "--help" || args.front() == "-h")) {
    if (args.front() == "--json") {
      json = true;
      args.erase(args.begin());
    } else {
      PrintHelp();
      return kOk;
    }
  }
  if (args.empty()) {
    PrintHelp();
    return kUsage;
  }
  auto it = Commands().find(args.front());
  if (it == Commands().end()) {
    return Usage(absl::StrCat("unknown command '", args.front(), "'"));
  }
  const Command& command = it->second;
  args.erase(args.begin());
  if (std::find(args.begin(), args.end(), "--help") != args.end() ||
      std::find(args.begin(), args.end(), "-h") != args.end()) {
    std::printf("usage: roomcast %s\n\n%s", command.usage.c_str(), kEnvironment);
    return kOk;
  }
  absl::StatusOr<Arguments> parsed = Arguments::Parse(args, command.options, command.switches);
  if (!parsed.ok()) {
    return Usage(std::string(parsed.status().message()));
  }
  return command.run(*parsed, json || parsed->Has("json"));
}

}  // namespace
}  // namespace roomcast::cli

int main(int argc, char** argv) { return roomcast::cli::Main(argc, argv); }
