#pragma once

#include <string>

#include "bench/loadgen/emit_plan.h"

namespace roomcast::bench {

// `concurrency` threads calling roomcast.v1.Roomcast over one channel:
// Emit per event, or EmitBatch with `batch_size` events per call
// (batch_size 0 = unary Emit). Data goes as pre-serialized `data_json`.
// `concurrency` caller threads, each with `in_flight` unary calls at a time
// (or, with `batch_size` > 0, one EmitBatch at a time).
void RunGrpcEmitters(EmitPlan& plan, const std::string& target, int concurrency, int batch_size,
                     int in_flight = 1);

}  // namespace roomcast::bench
