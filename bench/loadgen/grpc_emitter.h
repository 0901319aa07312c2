#pragma once

#include <string>

#include "bench/loadgen/emit_plan.h"

namespace roomcast::bench {

// `concurrency` threads calling roomcast.v1.Roomcast over one channel:
// Emit per event, or EmitBatch with `batch_size` events per call
// (batch_size 0 = unary Emit). Data goes as pre-serialized `data_json`.
void RunGrpcEmitters(EmitPlan& plan, const std::string& target, int concurrency, int batch_size);

}  // namespace roomcast::bench
