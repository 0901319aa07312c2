#pragma once

#include <netinet/in.h>

#include <string>

#include "bench/loadgen/emit_plan.h"

namespace roomcast::bench {

// `concurrency` keep-alive connections, each a thread posting one
// `POST /api/socket/emit` at a time until the plan's window ends.
void RunHttpEmitters(EmitPlan& plan, const sockaddr_in& target, const std::string& host_header,
                     int concurrency);

}  // namespace roomcast::bench
