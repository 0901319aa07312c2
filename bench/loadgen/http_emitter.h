#pragma once

#include <vector>

#include "bench/loadgen/emit_plan.h"
#include "bench/loadgen/target.h"

namespace roomcast::bench {

// `concurrency` keep-alive connections, each a thread posting one
// `POST /api/socket/emit` at a time until the plan's window ends;
// connection j to targets[j % targets.size()].
void RunHttpEmitters(EmitPlan& plan, const std::vector<Target>& targets, int concurrency);

}  // namespace roomcast::bench
