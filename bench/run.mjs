#!/usr/bin/env node
// Runs every benchmark scenario against every server (roomcastd, the reference
// socket.io server, the minimal epoll "ceiling"; roomcastd on a PostgreSQL
// event log; for the cluster scenarios three roomcastd nodes or three
// reference servers on one redis-server; for the client-event scenarios
// roomcastd with bench/consumer as the service), each server started fresh
// for each run, the servers alternating within each repeat; then writes
// OUT/results.json, OUT/results.md and gnuplot plots in OUT/plots/. Plain
// Node.js, no npm dependencies (the recovery-storm driver, bench/storm, needs
// socket.io-client). See bench/README.md.
//
//   node bench/run.mjs [--repeats=3] [--scenarios=fanout,steady] [--servers=roomcast,socketio]
//                      [--duration_s=10] [--idle_s=5] [--smoke] [--out=bench/results] [--merge]
//                      [--pause_s=1] [--keep_going] [--verbose] [--roomcast_args="--shards=1"]
//                      [--pg_test_fsync_s=2]
//   node bench/run.mjs --smoke                  # tiny loads, a few scenarios, < 1 min (tests use it);
//                                               # --out defaults to $TMPDIR/roomcast-bench-smoke
//   node bench/run.mjs --report [--out=DIR]     # tables and plots again from OUT/results.json
//
// Environment: ROOMCAST_BUILD_DIR (default build/); ROOMCAST_LOADGEN,
// ROOMCAST_ROOMCASTD, ROOMCAST_CEILING, ROOMCAST_CONSUMER, ROOMCAST_REDIS_SERVER (default
// redis-server on the PATH) override single binaries; ROOMCAST_PG_BIN the
// PostgreSQL binaries of roomcast-postgres (default /usr/lib/postgresql/15/bin).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const kRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const kBuildDir = path.resolve(process.env.ROOMCAST_BUILD_DIR ?? path.join(kRoot, 'build'));
const kBin = {
  loadgen: process.env.ROOMCAST_LOADGEN ?? path.join(kBuildDir, 'bench/roomcast-loadgen'),
  roomcastd: process.env.ROOMCAST_ROOMCASTD ?? path.join(kBuildDir, 'server/roomcastd'),
  ceiling: process.env.ROOMCAST_CEILING ?? path.join(kBuildDir, 'bench/roomcast-ceiling'),
  consumer: process.env.ROOMCAST_CONSUMER ?? path.join(kBuildDir, 'bench/roomcast-consumer'),
  redis: process.env.ROOMCAST_REDIS_SERVER ?? 'redis-server',
  pg: process.env.ROOMCAST_PG_BIN ?? '/usr/lib/postgresql/15/bin',
  storm: path.join(kRoot, 'bench/storm/recovery_storm.mjs'),
};
const kReferenceDir = path.join(kRoot, 'bench/reference');
const kServers = ['roomcast', 'socketio', 'ceiling', 'roomcast-postgres', 'roomcast-cluster', 'socketio-cluster'];
// The single-process servers, which every scenario but the cluster ones runs.
const kAll = ['roomcast', 'socketio', 'ceiling'];
// Each: kClusterNodes nodes (roomcastd --redis_url, or the reference server
// on @socket.io/redis-adapter) on one redis-server.
const kClusterServers = ['roomcast-cluster', 'socketio-cluster'];
const kClusterNodes = 3;
// The server a scenario's ratios are taken of (the first of these it has,
// unless the scenario says `ratioOf`).
const kRatioOf = ['roomcast', 'roomcast-cluster'];
// roomcast-postgres: roomcastd --event_log=postgres on a PostgreSQL 15 of its
// own (initdb in a temp dir, loopback, fsync and synchronous_commit on).
const kPgSettings = ['fsync=on', 'synchronous_commit=on'];
// The recovery-storm driver's clients: the same for every server.
const kStormReconnect = { reconnection_delay_ms: 100, reconnection_delay_max_ms: 500, randomization_factor: 0.5 };
const kHost = '127.0.0.1';
const kStartTimeoutMs = 30000;
const kStopTimeoutMs = 15000;
const kTailBytes = 64 * 1024;

// ---------------------------------------------------------------- scenarios

// kind: idle | flat (flat out, bounded by --max_undelivered) | rate (fixed
// emit rate) | control (emit path, one client) | slow (slow consumers) |
// durable (control, with the event log's cost) | storm (recovery storm: the
// driver bench/storm/recovery_storm.mjs instead of the loadgen) |
// client-rate / client-flat (browser -> service events with an ack, at a
// fixed rate / flat out: --emit=client) | client-stream (no ack, flat out:
// what the service receives).
// Optional: roomcastArgs / referenceEnv (per server name: more roomcastd
// flags / reference server environment for this scenario), ratioOf (the
// server the ratios are taken of), driver ('storm'), consumer (roomcast:
// start bench/consumer with these flags beside roomcastd).
const kScenarios = [
  {
    name: 'idle-10k', kind: 'idle', servers: kAll,
    about: '10,000 clients in 100 rooms connect, join and sit idle: memory per connection, connect rate, idle CPU.',
    flags: { connections: 10000, rooms: 100, sources: 4, emit: 'none', idle_s: 5 },
  },
  {
    name: 'idle-19k', kind: 'idle', servers: kAll,
    about: '19,000 idle clients in 100 rooms (close to the 20,000 open files a process may hold here).',
    flags: { connections: 19000, rooms: 100, sources: 4, emit: 'none', idle_s: 5 },
  },
  {
    name: 'heartbeats-19k', kind: 'idle', servers: kAll,
    about: '19,000 idle clients for 60 s at the default ping interval (25 s, pingTimeout 20 s): what the heartbeats ' +
      'cost, server CPU per minute.',
    flags: { connections: 19000, rooms: 100, sources: 4, emit: 'none', idle_s: 60 },
  },
  {
    name: 'fanout', kind: 'flat', servers: kAll,
    about: 'One room of 1,000 clients, HTTP emits flat out (150-byte frames): fan-out throughput and CPU per delivery.',
    flags: { connections: 1000, rooms: 1, emit: 'http', emit_rate: 0, max_undelivered: 200000, payload_bytes: 150, duration_s: 10 },
  },
  {
    name: 'many-rooms', kind: 'flat', servers: kAll,
    about: '10,000 clients in 100 rooms of 100, HTTP emits flat out, each to one room.',
    flags: { connections: 10000, rooms: 100, sources: 4, emit: 'http', emit_rate: 0, max_undelivered: 200000, duration_s: 10 },
  },
  // Scale with cores: the same loads on one shard, beside the default (one a
  // core, two here). The loadgen shares the cores, so CPU per delivery is the
  // figure; throughput alone would measure the contention.
  {
    name: 'fanout-1-shard', kind: 'flat', servers: ['roomcast'],
    about: 'fanout with --shards=1.',
    roomcastArgs: { roomcast: ['--shards=1'] },
    flags: { connections: 1000, rooms: 1, emit: 'http', emit_rate: 0, max_undelivered: 200000, payload_bytes: 150, duration_s: 10 },
  },
  {
    name: 'many-rooms-1-shard', kind: 'flat', servers: ['roomcast'],
    about: 'many-rooms with --shards=1.',
    roomcastArgs: { roomcast: ['--shards=1'] },
    flags: { connections: 10000, rooms: 100, sources: 4, emit: 'http', emit_rate: 0, max_undelivered: 200000, duration_s: 10 },
  },
  {
    name: 'steady', kind: 'rate', servers: kAll,
    about: '1,000 clients in 100 rooms of 10, 100 emits/s (1,000 deliveries/s): latency and CPU at a modest steady load.',
    flags: { connections: 1000, rooms: 100, emit: 'http', emit_rate: 100, duration_s: 10 },
  },
  {
    name: 'broadcast', kind: 'rate', servers: kAll,
    about: 'One namespace-wide emit per second to 1,000 clients.',
    flags: { connections: 1000, rooms: 1, broadcast: true, emit: 'http', emit_rate: 1, duration_s: 10 },
  },
  {
    name: 'control-grpc', kind: 'control', servers: ['roomcast'],
    about: 'One client; gRPC Emit from 16 caller threads flat out: control-plane emits per second.',
    flags: { connections: 1, rooms: 1, emit: 'grpc', emit_concurrency: 16, emit_rate: 0, max_undelivered: 100000, duration_s: 10 },
  },
  {
    name: 'control-batch', kind: 'control', servers: ['roomcast'],
    about: 'As control-grpc, with EmitBatch of 100 events per call.',
    flags: { connections: 1, rooms: 1, emit: 'batch', batch_size: 100, emit_concurrency: 16, emit_rate: 0, max_undelivered: 100000, duration_s: 10 },
  },
  {
    name: 'control-http', kind: 'control', servers: kAll,
    about: 'As control-grpc, with POST /api/socket/emit over 16 keep-alive connections.',
    flags: { connections: 1, rooms: 1, emit: 'http', emit_concurrency: 16, emit_rate: 0, max_undelivered: 100000, duration_s: 10 },
  },
  {
    name: 'slow-consumers', kind: 'slow', servers: kAll,
    about: '1,000 clients in 10 rooms, 10% of them never read; 200 emits/s: latency seen by the readers and memory held for the slow ones.',
    flags: { connections: 1000, rooms: 10, slow_fraction: 0.1, emit: 'http', emit_rate: 200, duration_s: 10 },
  },
  {
    name: 'durable-emit', kind: 'durable', servers: ['roomcast', 'roomcast-postgres'], ratioOf: 'roomcast-postgres',
    about: 'One client; gRPC Emit flat out from 16 caller threads with 64 calls in flight each, into roomcastd with the ' +
      'in-memory event log (roomcast: --event_log=memory) and with the durable one (roomcast-postgres: --event_log=postgres ' +
      'on a PostgreSQL 15 of its own, fsync=on, synchronous_commit=on: an emit is answered once its event is committed). ' +
      'Latency is emit call -> receipt by the client, so it includes the commit; roomcast-postgres CPU includes every ' +
      'PostgreSQL process.',
    roomcastArgs: { roomcast: ['--event_log=memory'] },
    flags: { connections: 1, rooms: 1, emit: 'grpc', emit_concurrency: 16, calls_in_flight: 64, emit_rate: 0, max_undelivered: 100000, duration_s: 10 },
  },
  {
    name: 'recovery-storm', kind: 'storm', driver: 'storm', servers: ['roomcast', 'socketio'],
    about: '1,000 socket.io-client 4.8 clients (WebSocket) in 10 rooms, through a loopback TCP proxy, each holding a ' +
      'warm-up event; the proxy drops every connection and refuses new ones for 1 s while 100 events are emitted ' +
      '(HTTP, 10 per room); then it lets them back and they reconnect (reconnectionDelay 100 ms, reconnectionDelayMax ' +
      '500 ms, randomizationFactor 0.5) and recover. roomcast: --recovery_window_ms=120000; socketio: ' +
      'connectionStateRecovery { maxDisconnectionDuration: 120000 }. Times from the let-back; CPU over the storm window ' +
      '(drop -> every client reconnected with every event).',
    roomcastArgs: { roomcast: ['--recovery_window_ms=120000'] },
    referenceEnv: { socketio: { RECOVERY_MS: '120000' } },
    flags: { connections: 1000, rooms: 10, events: 100, outage_ms: 1000, ...kStormReconnect, timeout_s: 30 },
  },
  // Browser -> service: the loadgen's sockets emit `bench:ask` with an ack
  // callback. roomcast: roomcastd hands each event to bench/consumer, a
  // service on roomcast::Client (ReceiveClientEvents, one AckClientEvent per
  // event); socketio answers in process (bench/reference/server.mjs). Every
  // roomcast run has --client_events_per_s=0 (startRoomcastd).
  {
    name: 'client-events-rtt', kind: 'client-rate', servers: ['roomcast', 'socketio'], consumer: { ack_threads: 4 },
    about: '1,000 clients emit `bench:ask` with an ack callback, 1,000 events/s in all (one per client per second): the ' +
      'round trip the browser sees (emit written -> ack read; the latency rows) and the CPU per event. roomcast: roomcastd ' +
      'hands each event to a service, bench/consumer (roomcast::Client: a ReceiveClientEvents stream, one AckClientEvent ' +
      "per event from 4 threads); its CPU is roomcastd's and the consumer's, also shown apart. socketio answers in " +
      "process: socket.on('bench:ask', (data, cb) => cb({ ok: true })).",
    flags: { connections: 1000, rooms: 1, emit: 'client', emit_rate: 1000, duration_s: 10 },
  },
  {
    name: 'client-events-throughput', kind: 'client-flat', servers: ['roomcast', 'socketio'], consumer: { ack_threads: 64 },
    about: 'As client-events-rtt, flat out: the 1,000 clients emit in turn as fast as the acks come back, at most 2,000 ' +
      'events waiting for theirs; one consumer (64 ack threads: each AckClientEvent call is synchronous), roomcastd with --client_events_per_s=0. Events answered ' +
      'per second and the CPU per event.',
    flags: { connections: 1000, rooms: 1, emit: 'client', emit_rate: 0, max_undelivered: 2000, duration_s: 10 },
  },
  {
    name: 'client-events-stream', kind: 'client-stream', servers: ['roomcast', 'socketio'],
    consumer: { events: 'bench:tell', ack_threads: 1 },
    about: 'The most events one service receives: the 1,000 clients emit `bench:tell` with no ack callback, flat out ' +
      '(a socket sends again once its last write left, so a server that reads slowly slows them), roomcastd with ' +
      '--client_events_per_s=0. roomcast: one ReceiveClientEvents stream into bench/consumer (roomcast::Client), which ' +
      "only counts; socketio: socket.on('bench:tell', ...) counting in process. Events received per second (the count " +
      'from the first arrival to the last), the CPU per event received, and the events sent but never received.',
    // drain_s: what the sockets' kernel buffers still held at the window's end gets through before the stop.
    flags: { connections: 1000, rooms: 1, emit: 'client', client_event: 'bench:tell', client_ack: false, emit_rate: 0, duration_s: 10, drain_s: 10 },
  },
  // Client i connects to node i % 3 and joins room-<i % rooms>: with a room
  // count prime to 3, every room has members on every node. HTTP emitter
  // connection j posts to node j % 3. CPU and RSS are summed over the three
  // nodes and redis-server.
  {
    name: 'cluster-fanout', kind: 'flat', servers: kClusterServers, cluster: true,
    about: 'Three nodes on one Redis; one room of 1,000 clients spread over them, HTTP emits flat out to the nodes in turn: ' +
      'fan-out through Redis, CPU summed over the nodes and redis-server.',
    flags: { connections: 1000, rooms: 1, emit: 'http', emit_rate: 0, max_undelivered: 200000, payload_bytes: 150, duration_s: 10 },
  },
  {
    name: 'cluster-many-rooms', kind: 'flat', servers: kClusterServers, cluster: true,
    about: 'Three nodes on one Redis; 1,000 clients in 100 rooms of 10 (each room on every node), HTTP emits flat out, ' +
      'each to one room (at most 2,000 emits in flight, as many-rooms).',
    flags: { connections: 1000, rooms: 100, emit: 'http', emit_rate: 0, max_undelivered: 20000, duration_s: 10 },
  },
  {
    name: 'cluster-steady', kind: 'rate', servers: kClusterServers, cluster: true,
    about: 'Three nodes on one Redis; 1,000 clients in 100 rooms of 10, 100 emits/s (1,000 deliveries/s): ' +
      'latency through Redis at a modest steady load.',
    flags: { connections: 1000, rooms: 100, emit: 'http', emit_rate: 100, duration_s: 10 },
  },
];
// What --smoke runs unless --scenarios says otherwise: every server and every
// loadgen mode (idle, flat out, fixed rate, broadcast, gRPC, batch, slow
// readers, client events with the consumer) once, in well under a minute.
const kSmokeScenarios = ['idle-10k', 'heartbeats-19k', 'fanout', 'fanout-1-shard', 'broadcast', 'control-grpc',
  'control-batch', 'slow-consumers', 'client-events-rtt', 'client-events-stream'];

// ---------------------------------------------------------------- metrics

const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : undefined);
const div = (a, k) => (Number.isFinite(a) ? a / k : undefined);
const mean = (values) => (values?.length && values.every(Number.isFinite) ? values.reduce((a, b) => a + b, 0) / values.length : undefined);
const redisProcess = (r) => r.server?.per_process?.find((p) => p.role === 'redis');
const nodeProcesses = (r) => r.server?.per_process?.filter((p) => p.role?.startsWith('node-')) ?? [];
// roomcast-postgres: run.mjs names the PostgreSQL processes pg-<what they are>.
const pgCpu = (r) => {
  const pg = r.server?.per_process?.filter((p) => p.role?.startsWith('pg-')) ?? [];
  return pg.length ? pg.reduce((a, p) => a + p.cpu_measure_s, 0) : undefined;
};
const roomcastdCpu = (r) => r.server?.per_process?.find((p) => p.role === 'roomcast')?.cpu_measure_s;
const consumerCpu = (r) => r.server?.per_process?.find((p) => p.role === 'consumer')?.cpu_measure_s;
// Client events: CPU seconds per event the sockets sent, in µs.
const perEvent = (cpu, r) => (r.client_events ? div(ratio(cpu, r.emitted), 1e-6) : undefined);
// client-events-stream: per event the service received, in µs.
const received = (cpu, r) => (r.receiver ? div(ratio(cpu, r.receiver.events), 1e-6) : undefined);

// get(json, flags) -> number | undefined. better: which way is good.
const kMetrics = {
  rss_per_connection_bytes: { label: 'RSS per connection (bytes)', better: 'lower', get: (r) => r.server?.rss_per_connection_bytes },
  connects_per_s: { label: 'connects/s', better: 'higher', get: (r) => r.connects_per_s },
  idle_cpu_pct: { label: 'server CPU while idle (% of a core)', better: 'lower', get: (r, f) => div(ratio(r.server?.cpu_idle_s, f.idle_s), 0.01) },
  idle_cpu_s_per_min: { label: 'server CPU per minute idle (s)', better: 'lower', get: (r, f) => div(ratio(r.server?.cpu_idle_s, f.idle_s), 1 / 60) },
  rss_connected_mb: { label: 'server RSS, all connected (MiB)', better: 'lower', get: (r) => div(r.server?.rss_connected_kb, 1024) },
  connect_failures: { label: 'connect failures', better: 'lower', get: (r) => r.connect_failures },
  deliveries_per_s: { label: 'deliveries/s', better: 'higher', get: (r) => r.deliveries_per_s },
  emits_per_s: { label: 'emits/s', better: 'higher', get: (r) => r.emits_per_s },
  cpu_per_delivery_us: { label: 'server CPU per delivery (µs)', better: 'lower', get: (r) => (r.delivered > 0 ? r.server?.cpu_per_delivery_us : undefined) },
  cpu_per_emit_us: { label: 'server CPU per emit (µs)', better: 'lower', get: (r) => div(ratio(r.server?.cpu_measure_s, r.emitted), 1e-6) },
  server_cpu_pct: { label: 'server CPU (% of a core)', better: 'lower', get: (r) => div(ratio(r.server?.cpu_measure_s, r.measure_seconds), 0.01) },
  p50_ms: { label: 'latency p50 (ms)', better: 'lower', get: (r) => (r.latency_us?.samples > 0 ? div(r.latency_us.p50, 1000) : undefined) },
  p99_ms: { label: 'latency p99 (ms)', better: 'lower', get: (r) => (r.latency_us?.samples > 0 ? div(r.latency_us.p99, 1000) : undefined) },
  max_ms: { label: 'latency max (ms)', better: 'lower', get: (r) => (r.latency_us?.samples > 0 ? div(r.latency_us.max, 1000) : undefined) },
  lost: { label: 'lost', better: 'lower', get: (r) => r.lost },
  duplicated: { label: 'duplicated', better: 'lower', get: (r) => r.duplicated },
  emit_errors: { label: 'emit errors', better: 'lower', get: (r) => r.emit_errors },
  dropped_clients: { label: 'clients dropped by the server', better: 'lower', get: (r) => r.dropped_clients },
  rss_after_mb: { label: 'server RSS at the end (MiB)', better: 'lower', get: (r) => div(r.server?.rss_after_kb, 1024) },
  loadgen_cpu_s: { label: 'loadgen CPU (s)', better: 'lower', get: (r) => r.loadgen_cpu_s },
  // Cluster runs: run.mjs adds each process's role to server.per_process and
  // the figures it scraped after the loadgen (cluster_nodes, redis).
  redis_cpu_pct: { label: 'redis-server CPU (% of a core)', better: 'lower',
    get: (r) => div(ratio(redisProcess(r)?.cpu_measure_s, r.measure_seconds), 0.01) },
  redis_cpu_share_pct: { label: 'redis-server share of the server CPU (%)', better: 'lower',
    get: (r) => div(ratio(redisProcess(r)?.cpu_measure_s, r.server?.cpu_measure_s), 0.01) },
  node_cpu_max_pct: { label: 'busiest node CPU (% of a core)', better: 'lower',
    get: (r) => div(ratio(Math.max(...nodeProcesses(r).map((p) => p.cpu_measure_s)), r.measure_seconds), 0.01) },
  redis_rx_mib_per_node: { label: 'Redis bytes received per roomcast node (MiB, whole run, mean)', better: 'lower',
    get: (r) => div(mean(r.cluster_nodes?.map((n) => n.redis_received_bytes)), 2 ** 20) },
  redis_rx_bytes_per_emit: { label: 'Redis bytes received per roomcast node per emit (mean)', better: 'lower',
    get: (r) => ratio(mean(r.cluster_nodes?.map((n) => n.redis_received_bytes)), r.emitted) },
  redis_msgs_per_node: { label: 'Redis messages received per roomcast node (whole run, mean)', better: 'lower',
    get: (r) => mean(r.cluster_nodes?.map((n) => n.redis_messages)) },
  redis_out_mib: { label: 'redis-server bytes sent (MiB, whole run)', better: 'lower',
    get: (r) => div(r.redis?.total_net_output_bytes, 2 ** 20) },
  // durable-emit: the server CPU split into roomcastd's and PostgreSQL's.
  roomcastd_cpu_per_emit_us: { label: 'roomcastd CPU per emit (µs)', better: 'lower', get: (r) => div(ratio(roomcastdCpu(r), r.emitted), 1e-6) },
  pg_cpu_per_emit_us: { label: 'PostgreSQL CPU per emit (µs, every postgres process)', better: 'lower', get: (r) => div(ratio(pgCpu(r), r.emitted), 1e-6) },
  pg_cpu_pct: { label: 'PostgreSQL CPU (% of a core)', better: 'lower', get: (r) => div(ratio(pgCpu(r), r.measure_seconds), 0.01) },
  // client-events-*: the loadgen's sockets ask (--emit=client), the server
  // answers (roomcastd through bench/consumer, or socket.io in process).
  // delivered = ok acks; latency = the round trips.
  events_per_s: { label: 'events answered/s (round trips completed)', better: 'higher',
    get: (r) => (r.client_events ? r.deliveries_per_s : undefined) },
  cpu_per_event_us: { label: 'server CPU per event (µs; roomcast: roomcastd + consumer)', better: 'lower',
    get: (r) => perEvent(r.server?.cpu_measure_s, r) },
  roomcastd_cpu_per_event_us: { label: 'roomcastd CPU per event (µs)', better: 'lower', get: (r) => perEvent(roomcastdCpu(r), r) },
  consumer_cpu_per_event_us: { label: 'consumer CPU per event (µs, bench/consumer)', better: 'lower', get: (r) => perEvent(consumerCpu(r), r) },
  ack_errors: { label: 'error acks, every code', better: 'lower', get: (r) => (r.client_events ? r.emit_errors : undefined) },
  ack_timeout: { label: 'error acks: timeout', better: 'lower', get: (r) => r.client_events?.errors?.timeout },
  ack_unavailable: { label: 'error acks: unavailable', better: 'lower', get: (r) => r.client_events?.errors?.unavailable },
  ack_limit: { label: 'error acks: limit', better: 'lower', get: (r) => r.client_events?.errors?.limit },
  unanswered: { label: 'events never answered (after the drain)', better: 'lower', get: (r) => r.client_events?.unanswered },
  // client-events-stream: `receiver` is what the service counted (bench/consumer, or socket.io's handler).
  received_per_s: { label: 'events received/s by the service (first to last arrival)', better: 'higher',
    get: (r) => r.receiver?.events_per_s },
  cpu_per_received_us: { label: 'server CPU per event received (µs; roomcast: roomcastd + consumer)', better: 'lower',
    get: (r) => received(r.server?.cpu_measure_s, r) },
  roomcastd_cpu_per_received_us: { label: 'roomcastd CPU per event received (µs)', better: 'lower', get: (r) => received(roomcastdCpu(r), r) },
  consumer_cpu_per_received_us: { label: 'consumer CPU per event received (µs, bench/consumer)', better: 'lower',
    get: (r) => received(consumerCpu(r), r) },
  sent_per_s: { label: 'events sent/s by the sockets', better: 'higher', get: (r) => (r.receiver ? r.emits_per_s : undefined) },
  not_received: { label: 'events sent, never received', better: 'lower',
    get: (r) => (r.receiver && r.client_events ? r.client_events.sent - r.receiver.events : undefined) },
  // recovery-storm (bench/storm/recovery_storm.mjs): times from the let-back.
  recover_all_ms: { label: 'time until all recovered (ms, from the let-back)', better: 'lower', get: (r) => r.recover_all_ms },
  recovered: { label: 'clients recovered (socket.recovered)', better: 'higher', get: (r) => r.recovered },
  not_recovered: { label: 'clients not recovered', better: 'lower', get: (r) => r.not_recovered },
  recover_p50_ms: { label: 'reconnected, p50 (ms)', better: 'lower', get: (r) => r.recover_p50_ms },
  recover_p99_ms: { label: 'reconnected, p99 (ms)', better: 'lower', get: (r) => r.recover_p99_ms },
  delivered_all_ms: { label: 'time until every missed event arrived (ms)', better: 'lower', get: (r) => r.delivered_all_ms },
  out_of_order: { label: 'clients with events out of order', better: 'lower', get: (r) => r.out_of_order },
  unexpected: { label: 'events of another room or unknown', better: 'lower', get: (r) => r.unexpected },
  storm_cpu_s: { label: 'server CPU over the storm window (s)', better: 'lower', get: (r) => r.server?.cpu_measure_s },
  cpu_per_client_us: { label: 'server CPU per client recovered (µs)', better: 'lower',
    get: (r) => (r.recovered > 0 ? div(ratio(r.server?.cpu_measure_s, r.recovered), 1e-6) : undefined) },
  reconnect_attempts: { label: 'reconnection attempts', better: 'lower', get: (r) => r.reconnect_attempts },
  driver_cpu_s: { label: 'driver CPU over the storm window (s)', better: 'lower', get: (r) => r.loadgen_cpu_s },
  // run.mjs: /proc/stat's busy ticks from the loadgen's start to its exit,
  // less the servers', the loadgen's and run.mjs's own.
  others_cpu_pct: { label: 'other processes on the machine during the run (% of a core)', better: 'lower', get: (r) => r.machine?.others_pct },
};

const kThroughput = ['deliveries_per_s', 'cpu_per_delivery_us', 'server_cpu_pct', 'p50_ms', 'p99_ms', 'max_ms',
  'lost', 'duplicated', 'emit_errors', 'loadgen_cpu_s'];
const kClientEventMetrics = ['events_per_s', 'p50_ms', 'p99_ms', 'max_ms', 'cpu_per_event_us', 'roomcastd_cpu_per_event_us',
  'consumer_cpu_per_event_us', 'server_cpu_pct', 'ack_errors', 'ack_timeout', 'ack_unavailable', 'ack_limit', 'unanswered',
  'loadgen_cpu_s', 'others_cpu_pct'];
const kKinds = {
  idle: { metrics: ['rss_per_connection_bytes', 'connects_per_s', 'idle_cpu_pct', 'idle_cpu_s_per_min', 'rss_connected_mb', 'connect_failures'], headline: ['rss_per_connection_bytes'] },
  flat: { metrics: kThroughput, headline: ['deliveries_per_s', 'cpu_per_delivery_us'] },
  // At a fixed low rate the server's CPU is a few /proc ticks (10 ms): p99 first.
  rate: { metrics: kThroughput, headline: ['p99_ms', 'cpu_per_delivery_us'] },
  control: { metrics: ['emits_per_s', 'cpu_per_emit_us', 'server_cpu_pct', 'p50_ms', 'p99_ms', 'emit_errors', 'lost', 'loadgen_cpu_s'], headline: ['emits_per_s'] },
  slow: { metrics: ['p99_ms', 'rss_after_mb', 'deliveries_per_s', 'cpu_per_delivery_us', 'max_ms', 'lost', 'dropped_clients', 'emit_errors'], headline: ['p99_ms'] },
  durable: { metrics: ['emits_per_s', 'cpu_per_emit_us', 'roomcastd_cpu_per_emit_us', 'pg_cpu_per_emit_us', 'cpu_per_delivery_us',
    'server_cpu_pct', 'pg_cpu_pct', 'p50_ms', 'p99_ms', 'max_ms', 'emit_errors', 'lost', 'duplicated', 'loadgen_cpu_s', 'others_cpu_pct'],
  headline: ['emits_per_s', 'p99_ms', 'cpu_per_emit_us'] },
  storm: { metrics: ['recover_all_ms', 'recovered', 'not_recovered', 'recover_p50_ms', 'recover_p99_ms', 'delivered_all_ms',
    'lost', 'duplicated', 'out_of_order', 'unexpected', 'storm_cpu_s', 'server_cpu_pct', 'cpu_per_delivery_us',
    'cpu_per_client_us', 'emit_errors', 'reconnect_attempts', 'driver_cpu_s', 'others_cpu_pct'],
  headline: ['recover_all_ms', 'storm_cpu_s', 'cpu_per_delivery_us'] },
  'client-rate': { metrics: kClientEventMetrics, headline: ['p99_ms', 'cpu_per_event_us'] },
  'client-flat': { metrics: kClientEventMetrics, headline: ['events_per_s', 'cpu_per_event_us'] },
  'client-stream': { metrics: ['received_per_s', 'cpu_per_received_us', 'roomcastd_cpu_per_received_us', 'consumer_cpu_per_received_us',
    'server_cpu_pct', 'sent_per_s', 'not_received', 'loadgen_cpu_s', 'others_cpu_pct'], headline: ['received_per_s', 'cpu_per_received_us'] },
};

const kPlots = [
  { file: 'cpu_per_delivery', metric: 'cpu_per_delivery_us', kinds: ['flat', 'rate', 'slow'], log: true,
    title: 'Server CPU per delivery (median, bars: min-max)', ylabel: 'CPU µs per delivery (log)' },
  { file: 'latency_p99', metric: 'p99_ms', kinds: ['flat', 'rate', 'slow', 'control', 'durable'], log: true,
    title: 'p99 delivery latency (median, bars: min-max)', ylabel: 'ms (log)' },
  { file: 'rss_per_connection', metric: 'rss_per_connection_bytes', kinds: ['idle'], scale: 1 / 1024,
    title: 'Server RSS per idle connection (median, bars: min-max)', ylabel: 'KiB per connection' },
  { file: 'deliveries_per_s', metric: 'deliveries_per_s', kinds: ['flat'],
    title: 'Deliveries per second, emits flat out (median, bars: min-max)', ylabel: 'deliveries/s' },
  { file: 'emits_per_s', metric: 'emits_per_s', kinds: ['control', 'durable'],
    title: 'Emits per second, one client (median, bars: min-max)', ylabel: 'emits/s' },
];

// What the cluster scenarios show beside their kind's metrics.
const kClusterMetrics = ['node_cpu_max_pct', 'redis_cpu_pct', 'redis_cpu_share_pct', 'redis_out_mib',
  'redis_rx_mib_per_node', 'redis_rx_bytes_per_emit', 'redis_msgs_per_node'];
const metricNames = (scenario) => [...kKinds[scenario.kind].metrics, ...(scenario.cluster ? kClusterMetrics : [])];

function metricsOf(json, scenario) {
  const out = {};
  for (const name of metricNames(scenario)) {
    const value = kMetrics[name].get(json, scenario.flags);
    out[name] = Number.isFinite(value) ? value : null;
  }
  return out;
}

// What in a run's JSON suggests it did not measure what it meant to.
function warningsOf(json, scenario) {
  const { kind } = scenario;
  const warnings = [];
  if (json.connected < json.connections) warnings.push(`${json.connected}/${json.connections} connected`);
  for (const key of ['connect_failures', 'emit_errors', 'lost', 'duplicated', 'dropped_clients']) {
    if (json[key] > 0) warnings.push(`${key}=${json[key]}`);
  }
  if (!(json.server?.rss_before_kb > 0)) warnings.push('no server /proc figures (rss_before_kb is 0)');
  if (kind === 'client-stream') {
    if (!(json.receiver?.events > 0)) warnings.push('the service received nothing (or printed no count)');
    else if (json.client_events && json.receiver.events < json.client_events.sent) {
      warnings.push(`${json.client_events.sent - json.receiver.events} events sent were never received`);
    }
  } else if (kind !== 'idle' && !(json.delivered > 0)) warnings.push('nothing delivered');
  // /proc counts CPU in 10 ms ticks: a few of them make CPU per delivery coarse.
  if (kind !== 'idle' && json.server?.cpu_measure_s < 0.1) {
    warnings.push(`server CPU over the window only ${json.server.cpu_measure_s} s: CPU per delivery is coarse`);
  }
  if (kind === 'storm') {
    for (const key of ['not_recovered', 'never_reconnected', 'out_of_order', 'unexpected']) {
      if (json[key] > 0) warnings.push(`${key}=${json[key]}`);
    }
    if (json.timed_out) warnings.push(`not every client reconnected with every event within ${json.settings?.timeout_s} s`);
    if (json.emit_ms > json.outage_ms) warnings.push(`the emits took ${json.emit_ms} ms, longer than the outage`);
  }
  // roomcast-postgres: a PostgreSQL process that went away during the run
  // (its CPU is then missing from the sums), or backends that came up after
  // the pids were taken (theirs is not in them).
  for (const p of json.server?.per_process ?? []) {
    if (p.role?.startsWith('pg-') && !(p.rss_after_kb > 0)) warnings.push(`${p.role} (pid ${p.pid}) was gone at the end`);
  }
  if (json.postgres?.logs) {
    const committed = json.postgres.logs.reduce((a, l) => a + l.last_offset, 0);
    if (committed < json.emitted) warnings.push(`PostgreSQL holds offsets up to ${committed} only, ${json.emitted} emits were acknowledged`);
  }
  if (json.postgres?.new_processes?.length) {
    warnings.push(`PostgreSQL processes not measured (came up during the run): ${json.postgres.new_processes.join(', ')}`);
  }
  if (json.client_events?.unexpected_acks > 0) warnings.push(`unexpected_acks=${json.client_events.unexpected_acks}`);
  if (scenario.consumer && json.consumer !== undefined) {
    const c = json.consumer;
    if (!c) warnings.push('the consumer printed no JSON');
    else {
      const failures = Object.entries(c.ack_failures ?? {}).map(([code, n]) => `${n} ${code}`);
      if (failures.length) warnings.push(`consumer ack calls failed: ${failures.join(', ')}`);
      const ends = Object.entries(c.stream_ends ?? {}).map(([code, n]) => `${n} ${code}`);
      if (ends.length) warnings.push(`consumer stream ended: ${ends.join(', ')}`);
      if (c.dropped_acks > 0) warnings.push(`consumer dropped ${c.dropped_acks} queued acks at its stop`);
    }
  }
  if (scenario.cluster) {
    for (const p of json.server?.per_process ?? []) {
      if (!(p.rss_before_kb > 0)) warnings.push(`no /proc figures for ${p.role ?? p.pid}`);
    }
    // Every room has members on every node: a node that heard nothing from
    // Redis was not part of the cluster.
    for (const n of json.cluster_nodes ?? []) {
      if (!(n.redis_messages > 0)) warnings.push(`node :${n.port} received no Redis messages`);
    }
  }
  return warnings;
}

// ---------------------------------------------------------------- arguments

const kUsage = `usage: node bench/run.mjs [--repeats=N] [--scenarios=a,b] [--servers=a,b] [--duration_s=S]
       [--idle_s=S] [--smoke] [--out=DIR] [--merge] [--pause_s=S] [--keep_going] [--verbose]
       [--roomcast_args="--flag=v ..."] [--pg_test_fsync_s=S]
       node bench/run.mjs --report [--out=DIR]
scenarios: ${kScenarios.map((s) => s.name).join(', ')}
servers: ${kServers.join(', ')}`;

function usageError(message) {
  process.stderr.write(`run.mjs: ${message}\n${kUsage}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = { repeats: undefined, scenarios: undefined, servers: kServers, durationS: undefined, idleS: undefined,
    smoke: false, out: undefined, pauseS: undefined, keepGoing: false, verbose: false,
    report: false, roomcastArgs: [], explicit: false, merge: false, pgTestFsyncS: undefined };
  const number = (name, text, min) => {
    const value = Number(text);
    if (text === '' || !Number.isFinite(value) || value < min) usageError(`--${name} must be a number >= ${min}`);
    return value;
  };
  const list = (name, text, known) => {
    const items = text.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = items.filter((s) => !known.includes(s));
    if (unknown.length || !items.length) usageError(`--${name}: unknown ${unknown.join(', ') || '(empty)'}`);
    return items;
  };
  for (const arg of argv) {
    const [, name, value] = /^--([a-z_]+)(?:=(.*))?$/s.exec(arg) ?? [];
    const flag = () => {
      if (value !== undefined) usageError(`--${name} takes no value`);
      return true;
    };
    const text = () => {
      if (value === undefined) usageError(`--${name} needs a value (--${name}=...)`);
      return value;
    };
    switch (name) {
      case 'repeats': options.repeats = Math.floor(number(name, text(), 1)); break;
      case 'scenarios': options.scenarios = list(name, text(), kScenarios.map((s) => s.name)); options.explicit = true; break;
      case 'servers': options.servers = list(name, text(), kServers); options.explicit = true; break;
      case 'duration_s': options.durationS = number(name, text(), 0.1); break;
      case 'idle_s': options.idleS = number(name, text(), 0); break;
      case 'pause_s': options.pauseS = number(name, text(), 0); break;
      case 'out': options.out = path.resolve(text()); break;
      case 'smoke': options.smoke = flag(); break;
      case 'keep_going': options.keepGoing = flag(); break;
      case 'verbose': options.verbose = flag(); break;
      case 'report': options.report = flag(); break;
      case 'merge': options.merge = flag(); break;
      case 'pg_test_fsync_s': options.pgTestFsyncS = Math.floor(number(name, text(), 0)); break;
      case 'roomcast_args': options.roomcastArgs = text().split(/\s+/).filter(Boolean); break;
      case 'help': process.stdout.write(`${kUsage}\n`); process.exit(0); break;
      default: usageError(`unknown argument ${arg}`);
    }
  }
  options.repeats ??= options.smoke ? 1 : 3;
  // A smoke run's figures mean nothing: they never overwrite bench/results unless asked to.
  options.out ??= options.smoke ? path.join(os.tmpdir(), 'roomcast-bench-smoke') : path.join(kRoot, 'bench/results');
  options.pauseS ??= options.smoke ? 0 : 1;
  // pg_test_fsync's seconds per test (0: not run); it runs about 17 tests.
  options.pgTestFsyncS ??= options.smoke ? 0 : 2;
  options.scenarios ??= options.smoke ? kSmokeScenarios : kScenarios.map((s) => s.name);
  return options;
}

// The scenarios to run, their flags after --smoke / --duration_s / --idle_s.
function planScenarios(options) {
  return kScenarios.filter((s) => options.scenarios.includes(s.name)).map((scenario) => {
    const flags = { ...scenario.flags };
    const servers = kServers.filter((s) => scenario.servers.includes(s) && options.servers.includes(s));
    if (scenario.driver === 'storm') {
      // Not the loadgen: its own flags (bench/storm/recovery_storm.mjs).
      if (options.smoke) {
        flags.connections = Math.min(flags.connections, 50);
        flags.rooms = Math.min(flags.rooms, 10);
        flags.events = Math.min(flags.events, 20);
        flags.outage_ms = Math.min(flags.outage_ms, 300);
        flags.timeout_s = Math.min(flags.timeout_s, 10);
      }
      return { ...scenario, flags, servers };
    }
    if (flags.emit !== 'none') flags.duration_s ??= 10;
    if (options.smoke) {
      flags.connections = Math.min(flags.connections, 50);
      flags.rooms = Math.min(flags.rooms, 10);
      if (flags.max_undelivered) flags.max_undelivered = Math.min(flags.max_undelivered, 5000);
      // Flat out, 50 sockets outrun any server into the kernel's buffers,
      // more than a 1 s drain clears: a rate every server keeps up with.
      if (flags.client_ack === false) flags.emit_rate = 5000;
      if (flags.emit === 'none') flags.idle_s = 1;
      else flags.duration_s = 1;
      flags.drain_s = 1;
    }
    if (options.durationS !== undefined && flags.emit !== 'none') flags.duration_s = options.durationS;
    if (options.idleS !== undefined && flags.emit === 'none') flags.idle_s = options.idleS;
    return { ...scenario, flags, servers };
  }).filter((s) => s.servers.length > 0);
}

const flagArgs = (flags) => Object.entries(flags).map(([k, v]) => (v === true ? `--${k}` : `--${k}=${v}`));

// ---------------------------------------------------------------- processes

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const live = new Set(); // children to stop if we are interrupted
let interrupted = false;

/** Appends to a string keeping only its last kTailBytes. */
const keepTail = (text, chunk) => {
  const joined = text + chunk;
  return joined.length > kTailBytes ? joined.slice(joined.length - kTailBytes) : joined;
};

/** Spawns a child with its output collected (tail only); returns a handle. */
function launch(binary, args, { env = {}, cwd = kRoot } = {}) {
  const child = spawn(binary, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const handle = { child, pid: child.pid, command: [binary, ...args].join(' '), output: '', exit: null };
  live.add(child);
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk) => (handle.output = keepTail(handle.output, chunk)));
  child.stderr.on('data', (chunk) => (handle.output = keepTail(handle.output, chunk)));
  handle.exited = new Promise((resolve) => {
    child.on('error', (error) => {
      handle.output += `spawn failed: ${error.message}\n`;
      handle.exit ??= { code: null, signal: null, error: error.message };
      live.delete(child);
      resolve(handle.exit);
    });
    child.on('exit', (code, signal) => {
      handle.exit ??= { code, signal };
      live.delete(child);
      resolve(handle.exit);
    });
  });
  return handle;
}

/** Polls check() until it is true; throws if the process exits, or kills it and throws if time runs out. */
async function until(handle, check, what, timeoutMs = kStartTimeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (handle.exit) throw new Error(`${handle.command}\nexited (${JSON.stringify(handle.exit)}) before ${what}:\n${handle.output}`);
    if (await check()) return;
    if (Date.now() > deadline) {
      handle.child.kill('SIGKILL');
      await handle.exited;
      throw new Error(`${handle.command}\nno ${what} within ${timeoutMs} ms (killed):\n${handle.output}`);
    }
    await sleep(25);
  }
}

/** SIGTERM, then SIGKILL after kStopTimeoutMs. Resolves the exit, with killed: true if SIGKILL was needed. */
async function stop(handle) {
  if (handle.exit) return { ...handle.exit, early: true };
  handle.child.kill('SIGTERM');
  const timer = sleep(kStopTimeoutMs).then(() => null);
  const exit = await Promise.race([handle.exited, timer]);
  if (exit) return exit;
  handle.child.kill('SIGKILL');
  return { ...(await handle.exited), killed: true };
}

/** Loopback ports that were free a moment ago (all held open together, then closed). */
async function freePorts(n) {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, kHost, () => resolve(server));
  })));
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

const httpOk = (port, urlPath) => new Promise((resolve) => {
  const request = http.get({ host: kHost, port, path: urlPath, timeout: 1000, agent: false }, (response) => {
    response.resume();
    resolve(response.statusCode === 200);
  });
  request.on('error', () => resolve(false));
  request.on('timeout', () => request.destroy());
});

const tcpAccepts = (port) => new Promise((resolve) => {
  const socket = net.connect({ host: kHost, port });
  socket.setTimeout(1000);
  socket.once('connect', () => { socket.destroy(); resolve(true); });
  socket.once('error', () => resolve(false));
  socket.once('timeout', () => { socket.destroy(); resolve(false); });
});

/** Sends one command to the Redis at `port`; resolves its reply (a simple or bulk string), null on an error. */
const redisCommand = (port, args, timeoutMs = 1000) => new Promise((resolve) => {
  const socket = net.connect({ host: kHost, port });
  let data = Buffer.alloc(0);
  const done = (value) => {
    socket.destroy();
    resolve(value);
  };
  socket.setTimeout(timeoutMs);
  socket.once('connect', () => {
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
  socket.on('data', (chunk) => {
    data = Buffer.concat([data, chunk]);
    const eol = data.indexOf('\r\n');
    if (eol < 0) return;
    const head = data.subarray(0, eol).toString('utf8');
    if (head[0] === '+') return done(head.slice(1));
    if (head[0] !== '$' || Number(head.slice(1)) < 0) return done(null);
    const length = Number(head.slice(1));
    if (data.length >= eol + 2 + length) done(data.subarray(eol + 2, eol + 2 + length).toString('utf8'));
  });
  socket.once('error', () => done(null));
  socket.once('timeout', () => done(null));
  socket.once('end', () => done(null));
});

/** GET urlPath: resolves { status, body } (body as text), null when there is no answer. */
const httpGet = (port, urlPath) => new Promise((resolve) => {
  const request = http.get({ host: kHost, port, path: urlPath, timeout: 2000, agent: false }, (response) => {
    let body = '';
    response.setEncoding('utf8');
    response.on('data', (chunk) => (body += chunk));
    response.on('end', () => resolve({ status: response.statusCode, body }));
    response.on('error', () => resolve(null));
  });
  request.on('error', () => resolve(null));
  request.on('timeout', () => request.destroy());
});

/** roomcastd's /api/health says its Redis check is SERVING. */
async function redisConnected(port) {
  const answer = await httpGet(port, '/api/health');
  try {
    return JSON.parse(answer?.body ?? '').checks?.some((c) => c.name === 'redis' && c.status === 'SERVING') ?? false;
  } catch {
    return false;
  }
}

/** A counter's value in a Prometheus text exposition, if it is there. */
function promValue(text, name) {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text ?? '');
  return match ? Number(match[1]) : null;
}

/** roomcastd's /api/health says its database check is SERVING. */
async function databaseConnected(port) {
  const answer = await httpGet(port, '/api/health');
  try {
    return JSON.parse(answer?.body ?? '').checks?.some((c) => c.name === 'database' && c.status === 'SERVING') ?? false;
  } catch {
    return false;
  }
}

/**
 * roomcastd on free ports. redisUrl: a cluster node on that Redis; extra:
 * more flags (before --roomcast_args, which win); database: wait for its
 * database check too.
 */
async function startRoomcastd(options, { redisUrl, extra = [], database = false } = {}) {
  const [port, grpcPort] = await freePorts(2);
  // No per-IP, handshake or client-event limits (the loadgen is one
  // address); no SIGTERM grace (no load balancer to tell). The rest,
  // the event log for recovery included, is as shipped.
  const args = [`--host=${kHost}`, `--port=${port}`, `--grpc_port=${grpcPort}`, '--log_level=warn',
    '--max_connections=20000', '--max_connections_per_ip=0', '--handshakes_per_ip_per_s=0',
    '--client_events_per_s=0', '--drain_grace_ms=0',
    // A cluster node gets one shard: its three nodes share this machine's cores
    // (as a pod gets the CPU it is given), like the three one-threaded Node servers.
    ...(redisUrl ? [`--redis_url=${redisUrl}`, '--shards=1'] : []),
    ...extra,
    ...options.roomcastArgs];
  const handle = launch(kBin.roomcastd, args);
  await until(handle, () => httpOk(port, '/healthz'), 'GET /healthz -> 200');
  if (redisUrl) await until(handle, () => redisConnected(port), 'GET /api/health with redis SERVING');
  if (database) await until(handle, () => databaseConnected(port), 'GET /api/health with database SERVING');
  return { handle, port, grpcPort };
}

/** roomcastd's Status (GET /v1/status) counts a client event stream open on it. */
async function clientEventStreamOpen(port) {
  const answer = await httpGet(port, '/v1/status');
  try {
    return Number(JSON.parse(answer?.body ?? '').clientEvents?.streams ?? 0) >= 1;
  } catch {
    return false;
  }
}

/**
 * bench/consumer on a roomcastd, with `flags`; bounded by `maxS` seconds of
 * its own. Ready once roomcastd has its stream (events sent before that are
 * answered `unavailable`).
 */
async function startConsumer(roomcastd, flags, maxS) {
  const handle = launch(kBin.consumer, [`--grpc_target=${kHost}:${roomcastd.grpcPort}`,
    `--http_url=http://${kHost}:${roomcastd.port}`, `--duration_s=${maxS}`, ...flagArgs(flags)]);
  await until(handle, () => clientEventStreamOpen(roomcastd.port), 'its stream open on roomcastd (GET /v1/status: clientEvents.streams >= 1)');
  return handle;
}

async function startReference(redisUrl, env = {}) {
  const [port] = await freePorts(1);
  // REDIS_URL and RECOVERY_MS set either way, so that ones in our environment
  // never turn the adapter or recovery on where the scenario does not.
  const handle = launch(process.execPath, [path.join(kReferenceDir, 'server.mjs')],
    { env: { PORT: String(port), HOST: kHost, REDIS_URL: redisUrl ?? '', RECOVERY_MS: '', ...env }, cwd: kReferenceDir });
  const listening = /^listening (\d+)$/m;
  await until(handle, () => listening.test(handle.output), '"listening <port>" line');
  return { handle, port: Number(listening.exec(handle.output)[1]) };
}

/** redis-server on loopback, nothing persisted (cwd: the temp dir, in case). */
async function startRedis() {
  const [port] = await freePorts(1);
  const handle = launch(kBin.redis, ['--port', String(port), '--bind', kHost, '--save', '', '--appendonly', 'no',
    '--loglevel', 'warning'], { cwd: os.tmpdir() });
  await until(handle, async () => (await redisCommand(port, ['PING'])) === 'PONG', 'PING -> PONG');
  return { handle, port };
}

// ---------------------------------------------------------------- PostgreSQL

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;
const pgClusters = new Set(); // to stop if we are interrupted

/** uid/gid of the postgres user (from /etc/passwd), null when there is none. */
function postgresIds() {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) return null;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** One of the PostgreSQL binaries as the postgres user when we are root: [command, args]. */
function pgCommand(tool, args) {
  const file = path.join(kBin.pg, tool);
  return isRoot() ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
}

/** Runs a PostgreSQL tool to completion; resolves { code, signal, output, command }. */
function runPgTool(tool, args, timeoutMs = 60000) {
  const [command, argv] = pgCommand(tool, args);
  return new Promise((resolve) => {
    const child = spawn(command, argv, { cwd: os.tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk) => (output = keepTail(output, chunk)));
    child.stderr.on('data', (chunk) => (output = keepTail(output, chunk)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => (output += `spawn failed: ${error.message}\n`));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, output, command: [command, ...argv].join(' ') });
    });
  });
}

/** psql -At on the cluster: resolves the rows (arrays of |-separated fields), null on an error. */
async function pgQuery(pg, sql) {
  const run = await runPgTool('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', kHost, '-p', String(pg.port),
    '-U', 'postgres', '-d', 'postgres', '-c', sql], 15000);
  if (run.code !== 0) return null;
  return run.output.split('\n').filter((line) => line !== '').map((line) => line.split('|'));
}

/**
 * A PostgreSQL cluster of its own: initdb in a temp dir (owned by postgres
 * when we are root), pg_ctl start on a free loopback port, its socket in the
 * temp dir, the durability settings of kPgSettings. Resolves { dir, data,
 * port, pid (the postmaster), url, log() }.
 */
async function startPostgres() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roomcast-bench-pg-'));
  const pg = { dir, data: path.join(dir, 'data'), logFile: path.join(dir, 'postgres.log'), port: 0, pid: null, url: null };
  pg.log = () => {
    try {
      const text = fs.readFileSync(pg.logFile, 'utf8');
      return text.length > kTailBytes ? text.slice(text.length - kTailBytes) : text;
    } catch {
      return '';
    }
  };
  pgClusters.add(pg);
  try {
    if (isRoot()) {
      const ids = postgresIds();
      if (!ids) throw new Error('no postgres user in /etc/passwd (apt-get install postgresql-15)');
      fs.chownSync(dir, ids.uid, ids.gid);
    }
    [pg.port] = await freePorts(1);
    pg.url = `postgresql://postgres@${kHost}:${pg.port}/postgres`;
    // --no-sync: initdb does not flush the fresh cluster; the run's own writes are durable (fsync=on).
    const init = await runPgTool('initdb', ['-D', pg.data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    if (init.code !== 0) throw new Error(`${init.command}\nfailed (${init.code ?? init.signal}):\n${init.output}`);
    const settings = [`-k ${dir}`, `-c listen_addresses=${kHost}`, `-p ${pg.port}`, ...kPgSettings.map((x) => `-c ${x}`)].join(' ');
    pg.command = `pg_ctl start -D ${pg.data} -o "${settings}"`;
    const start = await runPgTool('pg_ctl', ['start', '-D', pg.data, '-w', '-t', '30', '-l', pg.logFile, '-o', settings]);
    if (start.code !== 0) throw new Error(`${start.command}\nfailed (${start.code ?? start.signal}):\n${start.output}\n${pg.log()}`);
    pg.pid = Number(fs.readFileSync(path.join(pg.data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch (error) {
    await stopPostgres(pg);
    throw error;
  }
  return pg;
}

/** pg_ctl stop (fast, else immediate), then the temp dir goes. Resolves the server log's tail. */
async function stopPostgres(pg) {
  let note = '';
  if (fs.existsSync(path.join(pg.data, 'postmaster.pid'))) {
    const fast = await runPgTool('pg_ctl', ['stop', '-D', pg.data, '-m', 'fast', '-w', '-t', '30']);
    if (fast.code !== 0) {
      note = `pg_ctl stop -m fast failed (${fast.code ?? fast.signal}): ${fast.output}\n`;
      await runPgTool('pg_ctl', ['stop', '-D', pg.data, '-m', 'immediate', '-w', '-t', '10']);
    }
  }
  const log = pg.log();
  fs.rmSync(pg.dir, { recursive: true, force: true });
  pgClusters.delete(pg);
  return `${note}${log}`;
}

/** Whether a pid is alive (signal 0). */
function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** The children of `ppid`, from /proc/<pid>/stat. */
function childrenOf(ppid) {
  const out = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(name));
    } catch { /* gone */ }
  }
  return out.sort((a, b) => a - b);
}

/**
 * The postmaster and its children with roles from their titles:
 * pg-postmaster, pg-checkpointer, pg-walwriter, ..., pg-backend-N (client
 * connections: roomcastd's writer, reader and health check).
 */
function pgProcesses(postmaster) {
  const title = (pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      return '';
    }
  };
  const list = [{ role: 'pg-postmaster', pid: postmaster, title: title(postmaster) }];
  let backends = 0;
  for (const pid of childrenOf(postmaster)) {
    const what = title(pid).replace(/^postgres: /, '');
    const backend = /^\S+ \S+ \d+\.\d+\.\d+\.\d+\(\d+\)/.test(what);
    list.push({ role: backend ? `pg-backend-${++backends}` : `pg-${what.replace(/\s+/g, '-')}`, pid, title: what });
  }
  return list;
}

/** pg_test_fsync in a temp dir of its own (the disk PostgreSQL's temp dirs are on): { command, dir, output, summary }. */
async function pgTestFsync(seconds) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roomcast-bench-fsync-'));
  try {
    if (isRoot()) {
      const ids = postgresIds();
      if (ids) fs.chownSync(dir, ids.uid, ids.gid);
    }
    const run = await runPgTool('pg_test_fsync', ['-s', String(seconds), '-f', path.join(dir, 'pg_test_fsync.out')], 300000);
    const df = commandOutput('df', ['-hT', dir]);
    const lines = run.output.split('\n');
    // The sections on 8kB writes: one write, then two (what a commit's WAL flush does).
    const summary = [];
    let take = false;
    for (const line of lines) {
      if (/^Compare file sync methods using (one|two) 8kB writes?:/.test(line)) take = true;
      else if (/^\S/.test(line) && !line.startsWith('(')) take = false;
      if (take && line.trim() !== '') summary.push(line.replace(/\s+$/, ''));
    }
    return { command: `pg_test_fsync -s ${seconds}`, dir, filesystem: df?.split('\n').at(-1) ?? null, exit: run.code, summary, output: run.output };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * redis-server, then kClusterNodes nodes from startNode(redisUrl). Processes:
 * the nodes (node-1..), then redis, the order of --server_pid. On a failure
 * stops what it started.
 */
async function startCluster(startNode) {
  const nodes = [];
  let redis = null;
  try {
    redis = await startRedis();
    const url = `redis://${kHost}:${redis.port}`;
    for (let i = 0; i < kClusterNodes; ++i) nodes.push(await startNode(url));
  } catch (error) {
    for (const node of nodes) await stop(node.handle);
    if (redis) await stop(redis.handle);
    throw error;
  }
  return {
    processes: [...nodes.map((n, i) => ({ role: `node-${i + 1}`, handle: n.handle })), { role: 'redis', handle: redis.handle }],
    ports: nodes.map((n) => n.port),
    redisPort: redis.port,
  };
}

/** redis-server's INFO stats: bytes in and out, commands, over its whole life. */
async function redisStats(port) {
  const info = await redisCommand(port, ['INFO', 'stats'], 3000);
  const field = (name) => {
    const match = new RegExp(`^${name}:(\\d+)`, 'm').exec(info ?? '');
    return match ? Number(match[1]) : null;
  };
  return {
    port,
    total_net_input_bytes: field('total_net_input_bytes'),
    total_net_output_bytes: field('total_net_output_bytes'),
    total_commands_processed: field('total_commands_processed'),
  };
}

// A scenario's extra roomcastd flags / reference server environment for one server.
const scenarioArgs = (scenario, server) => scenario?.roomcastArgs?.[server] ?? [];
const scenarioEnv = (scenario, server) => scenario?.referenceEnv?.[server] ?? {};

// Each server: how to start it and tell it is ready. start(options,
// scenario) resolves { processes: [{ role, handle }] (their pids go to
// --server_pid in this order), watched? ([{ role, pid }]: processes it did not
// start itself but whose CPU counts, after those), ports (the loadgen's
// --target list), grpcPort?, collect? (figures to scrape after the loadgen,
// before the stop), alive? (false: a watched process died), cleanup? (after
// the stop; resolves a log) }.
const kServerSpecs = {
  roomcast: {
    binary: () => kBin.roomcastd,
    async start(options, scenario) {
      const roomcastd = await startRoomcastd(options, { extra: scenarioArgs(scenario, 'roomcast') });
      const processes = [{ role: 'roomcast', handle: roomcastd.handle }];
      if (scenario.consumer) {
        // The service of the client-event scenarios; its pid follows roomcastd's in --server_pid.
        try {
          processes.push({ role: 'consumer', handle: await startConsumer(roomcastd, scenario.consumer, loadgenTimeoutS(scenario.flags)) });
        } catch (error) {
          await stop(roomcastd.handle);
          throw error;
        }
      }
      return { processes, ports: [roomcastd.port], grpcPort: roomcastd.grpcPort };
    },
  },
  socketio: {
    binary: () => path.join(kReferenceDir, 'server.mjs'),
    async start(options, scenario) {
      const { handle, port } = await startReference(undefined, scenarioEnv(scenario, 'socketio'));
      return { processes: [{ role: 'socketio', handle }], ports: [port] };
    },
  },
  'roomcast-postgres': {
    binary: () => kBin.roomcastd,
    async start(options, scenario) {
      const pg = await startPostgres();
      try {
        const rows = await pgQuery(pg, "SELECT name, current_setting(name) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', " +
          "'wal_sync_method', 'full_page_writes', 'shared_buffers', 'wal_level') UNION ALL SELECT 'version', version() ORDER BY 1");
        const settings = Object.fromEntries(rows ?? []);
        const { handle, port, grpcPort } = await startRoomcastd(options, {
          extra: ['--event_log=postgres', `--database_url=${pg.url}`, ...scenarioArgs(scenario, 'roomcast-postgres')], database: true,
        });
        // roomcastd's writer, reader and health check each hold a connection:
        // wait (a little) for all three backends, so that their CPU counts.
        const backends = () => pgProcesses(pg.pid).filter((p) => p.role.startsWith('pg-backend-')).length;
        for (let i = 0; i < 200 && backends() < 3; ++i) await sleep(25);
        const watched = pgProcesses(pg.pid);
        return {
          processes: [{ role: 'roomcast', handle }],
          watched,
          ports: [port],
          grpcPort,
          postgresCommand: pg.command,
          alive: () => pidAlive(pg.pid),
          async collect() {
            const now = pgProcesses(pg.pid);
            const logs = await pgQuery(pg, 'SELECT nsp, epoch, last_offset FROM roomcast_logs ORDER BY nsp');
            return {
              postgres: {
                settings,
                port: pg.port,
                processes: watched.map(({ role, pid, title }) => ({ role, pid, title })),
                new_processes: now.filter((p) => !watched.some((w) => w.pid === p.pid)).map((p) => `${p.title} (pid ${p.pid})`),
                // What the log holds after the run: last_offset counts every committed event.
                logs: (logs ?? []).map(([nsp, epoch, last]) => ({ nsp, epoch, last_offset: Number(last) })),
              },
            };
          },
          cleanup: () => stopPostgres(pg),
        };
      } catch (error) {
        await stopPostgres(pg);
        throw error;
      }
    },
  },
  ceiling: {
    binary: () => kBin.ceiling,
    async start() {
      const [port] = await freePorts(1);
      const handle = launch(kBin.ceiling, [`--host=${kHost}`, `--port=${port}`]);
      await until(handle, () => tcpAccepts(port), 'TCP port accepting');
      return { processes: [{ role: 'ceiling', handle }], ports: [port] };
    },
  },
  'roomcast-cluster': {
    binary: () => kBin.roomcastd,
    async start(options) {
      const cluster = await startCluster((url) => startRoomcastd(options, { redisUrl: url }));
      cluster.collect = async () => {
        const nodes = await Promise.all(cluster.ports.map(async (port, i) => {
          const text = (await httpGet(port, '/metrics'))?.body;
          return {
            node: `node-${i + 1}`, port, pid: cluster.processes[i].handle.pid,
            redis_received_bytes: promValue(text, 'roomcast_redis_received_bytes_total'),
            redis_messages: promValue(text, 'roomcast_redis_messages_received_total'),
            redis_messages_unused: promValue(text, 'roomcast_redis_messages_unused_total'),
            redis_sent_bytes: promValue(text, 'roomcast_redis_sent_bytes_total'),
            redis_publish_failures: promValue(text, 'roomcast_redis_publish_failures_total'),
          };
        }));
        return { cluster_nodes: nodes, redis: await redisStats(cluster.redisPort) };
      };
      return cluster;
    },
  },
  'socketio-cluster': {
    binary: () => path.join(kReferenceDir, 'server.mjs'),
    async start() {
      const cluster = await startCluster((url) => startReference(url));
      cluster.collect = async () => ({ redis: await redisStats(cluster.redisPort) });
      return cluster;
    },
  },
};

/** How long a loadgen run may take before it is killed, in seconds. */
const loadgenTimeoutS = (f) => 120 + (f.idle_s ?? 0) + (f.duration_s ?? 0) + (f.drain_s ?? 2) + 60;

/** Runs the loadgen (or a driver) to completion; resolves { code, signal, stdout, stderr, timedOut }. */
function runLoadgen(command, args, timeoutMs, verbose) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: kRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => {
      stderr = keepTail(stderr, chunk);
      if (verbose) process.stderr.write(chunk);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const done = (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, stdout, stderr, timedOut });
    };
    child.on('error', (error) => {
      stderr += `spawn failed: ${error.message}\n`;
      done(null, null); // a second resolve (from 'close') is a no-op
    });
    child.on('close', done);
  });
}

/** The loadgen's JSON object: its stdout as a whole, else its last line that is one. */
function parseLoadgenJson(stdout) {
  const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  try {
    const whole = JSON.parse(stdout);
    if (isObject(whole)) return { json: whole, text: stdout.trim() };
  } catch { /* not one document */ }
  const lines = stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('{')).reverse();
  for (const line of lines) {
    try {
      const value = JSON.parse(line);
      if (isObject(value)) return { json: value, text: line };
    } catch { /* a progress line */ }
  }
  return null;
}

class RunError extends Error {}

// ---------------------------------------------------------------- the rest of the machine

const kTicksPerSecond = Number(commandOutput('getconf', ['CLK_TCK'])) || 100;

/** utime + stime (+ cutime + cstime: reaped children) of a pid, in ticks; 0 when it is gone. */
function pidTicks(pid, children = false) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3: utime, stime, cutime, cstime are fields 14..17.
    return Number(fields[11]) + Number(fields[12]) + (children ? Number(fields[13]) + Number(fields[14]) : 0);
  } catch {
    return 0;
  }
}

/**
 * What the whole machine spent (busy ticks of /proc/stat, every core), what
 * run.mjs and its reaped children (the loadgen or driver once it exited)
 * spent, and what the measured server processes spent, now.
 */
function machineSample(pids) {
  let busy = 0;
  try {
    const [, ...ticks] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest is in user already).
    busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + (ticks[7] ?? 0);
  } catch { /* no /proc/stat */ }
  return { at: Date.now(), busy, self: pidTicks(process.pid, true), servers: pids.reduce((a, pid) => a + pidTicks(pid), 0) };
}

/**
 * From the loadgen's start to its exit: the machine's busy CPU, ours (the
 * servers, the loadgen or driver, run.mjs) and the rest, each in % of a
 * core. The rest is other work on the machine (a build, tests), which takes
 * cores from the run: a busy machine makes its figures worse than they are.
 */
function machineLoad(before, after) {
  const wall = (after.at - before.at) / 1000;
  if (!(wall > 0) || !(after.busy > before.busy)) return null;
  const pct = (ticks) => Number(((ticks / kTicksPerSecond / wall) * 100).toFixed(1));
  const busy = after.busy - before.busy;
  const ours = (after.self - before.self) + (after.servers - before.servers);
  return { wall_s: Number(wall.toFixed(2)), busy_pct: pct(busy), ours_pct: pct(ours), others_pct: pct(Math.max(0, busy - ours)) };
}
const kOthersWarnPct = 10;

/** One scenario against one server, one repeat. Returns the run's record; throws RunError. */
async function runOnce(scenario, serverName, repeat, options, rawDir) {
  const base = path.join(rawDir, `${scenario.name}.${serverName}.${repeat}`);
  const started = Date.now();
  const server = await kServerSpecs[serverName].start(options, scenario).catch((error) => {
    throw new RunError(`${serverName} did not start: ${error.message}`);
  });
  const { processes } = server;
  const watched = server.watched ?? [];
  const pids = [...processes.map((p) => p.handle.pid), ...watched.map((p) => p.pid)];
  const storm = scenario.driver === 'storm';
  const f = scenario.flags;
  // The loadgen, or the recovery-storm driver (Node.js; the server's HTTP port only).
  const [driver, driverName, args, timeoutMs] = storm
    ? [process.execPath, 'driver', [kBin.storm, `--target=${kHost}:${server.ports[0]}`, `--server_pid=${pids.join(',')}`,
      ...flagArgs(f), ...(options.verbose ? ['--verbose'] : [])], 1000 * (60 + 20 + f.outage_ms / 1000 + f.timeout_s + 60)]
    : [kBin.loadgen, 'loadgen', [`--target=${server.ports.map((port) => `${kHost}:${port}`).join(',')}`,
      `--server_pid=${pids.join(',')}`,
      ...(server.grpcPort ? [`--grpc_target=${kHost}:${server.grpcPort}`] : []), ...flagArgs(f)],
    1000 * loadgenTimeoutS(f)];
  const single = processes.length === 1;
  const named = (p) => (single ? serverName : `${serverName} ${p.role}`);
  let result;
  let died;
  let watchedDied = false;
  let collected = null;
  let cleanupLog = null;
  const exitOf = new Map();
  let machine = null;
  const machineBefore = machineSample(pids);
  try {
    result = await runLoadgen(driver, args, timeoutMs, options.verbose);
  } finally {
    machine = machineLoad(machineBefore, machineSample(pids));
    died = processes.find((p) => p.handle.exit);
    watchedDied = server.alive ? !server.alive() : false;
    if (server.collect && !died && !watchedDied) collected = await server.collect().catch(() => null);
    // The consumer first (else it would see roomcastd go and reconnect), then
    // the nodes (together), then the redis-server they share.
    const stopStep = (p) => ({ consumer: 0, redis: 2 })[p.role] ?? 1;
    for (const step of [0, 1, 2]) {
      const group = processes.filter((p) => stopStep(p) === step);
      const exits = await Promise.all(group.map((p) => stop(p.handle)));
      group.forEach((p, i) => exitOf.set(p, exits[i]));
    }
    // What the server depends on and run.mjs did not launch itself (PostgreSQL).
    if (server.cleanup) cleanupLog = await server.cleanup().catch((error) => `cleanup failed: ${error.message}`);
    const log = [...processes.flatMap((p) => [
      `# server${single ? '' : ` (${p.role}, pid ${p.handle.pid})`}: ${p.handle.command}`,
      `# server exit: ${JSON.stringify(exitOf.get(p))}`, p.handle.output]),
    ...(server.postgresCommand ? [`# postgres (as the postgres user): ${server.postgresCommand}`] : []),
    ...watched.map((p) => `# watched (${p.role}, pid ${p.pid}): ${p.title ?? ''}`),
    ...(cleanupLog !== null ? [`# postgres log:\n${cleanupLog}`] : []),
    ...(collected ? [`# scraped after the ${driverName}: ${JSON.stringify(collected)}`] : []),
    `# ${driverName}: ${driver} ${args.join(' ')}`,
    result ? `# ${driverName} exit: code=${result.code} signal=${result.signal}${result.timedOut ? ' (timed out)' : ''}` : '',
    result?.stderr ?? '', result ? `# ${driverName} stdout:\n${result.stdout}` : ''].join('\n');
    fs.writeFileSync(`${base}.log`, log);
  }
  const context = () => `\n--- ${driverName}: ${driver} ${args.join(' ')}\n${result.stderr.slice(-4000)}` +
    processes.map((p) => `\n--- ${named(p)}: ${p.handle.command}\n${p.handle.output.slice(-4000)}`).join('') +
    (cleanupLog ? `\n--- postgres log:\n${cleanupLog.slice(-4000)}` : '') +
    `\n(full log: ${base}.log)`;
  if (result.timedOut) throw new RunError(`${driverName} ran over ${timeoutMs / 1000} s and was killed${context()}`);
  if (result.code !== 0) throw new RunError(`${driverName} exited with code ${result.code} signal ${result.signal}${context()}`);
  const parsed = parseLoadgenJson(result.stdout);
  if (!parsed) throw new RunError(`${driverName} printed no JSON object on stdout${context()}`);
  if (died) throw new RunError(`${named(died)} exited during the run (${JSON.stringify(died.handle.exit)})${context()}`);
  if (watchedDied) throw new RunError(`${serverName}: PostgreSQL (postmaster pid ${watched[0]?.pid}) exited during the run${context()}`);
  // What run.mjs knows and the loadgen does not: which pid is what, and
  // (clusters, PostgreSQL) the figures scraped after the loadgen.
  const json = parsed.json;
  const roles = [...processes.map((p) => p.role), ...watched.map((p) => p.role)];
  json.server?.per_process?.forEach((p, i) => {
    if (roles[i]) p.role = roles[i];
  });
  if (collected) Object.assign(json, collected);
  // The consumer's own books: one JSON line when it stopped (null: none).
  const consumer = processes.find((p) => p.role === 'consumer');
  if (consumer) json.consumer = parseLoadgenJson(consumer.handle.output)?.json ?? null;
  // client-events-stream: the count of whoever received (the consumer, or the reference server's line at its stop).
  if (scenario.kind === 'client-stream') {
    json.receiver = consumer ? json.consumer : parseLoadgenJson(processes[0].handle.output)?.json ?? null;
  }
  if (machine) json.machine = machine;
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(json)}\n`);
  const warnings = warningsOf(json, scenario);
  if (machine?.others_pct > kOthersWarnPct) {
    warnings.push(`other processes used ${machine.others_pct}% of a core during the run (the machine was not quiet: ` +
      `${machine.busy_pct}% busy in all, ${machine.ours_pct}% the run's own)`);
  }
  for (const p of processes) {
    const exit = exitOf.get(p);
    if (exit.killed) warnings.push(`${named(p)} needed SIGKILL to stop`);
    else if (exit.code !== 0) warnings.push(`${named(p)} exited with code ${exit.code} signal ${exit.signal} on SIGTERM`);
  }
  if (server.collect && !collected) warnings.push('no figures scraped from the server after the run');
  const commands = single ? processes[0].handle.command : processes.map((p) => `${p.role}: ${p.handle.command}`).join('\n');
  return {
    scenario: scenario.name, server: serverName, repeat,
    started_at: new Date(started).toISOString(), wall_s: (Date.now() - started) / 1000,
    server_command: server.postgresCommand ? `${commands}\npostgres: ${server.postgresCommand}` : commands,
    loadgen_args: args,
    metrics: metricsOf(json, scenario), warnings, raw: json,
  };
}

// ---------------------------------------------------------------- summary

function summarize(values) {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!finite.length) return null;
  const mid = finite.length >> 1;
  const median = finite.length % 2 ? finite[mid] : (finite[mid - 1] + finite[mid]) / 2;
  return { median, min: finite[0], max: finite.at(-1), values };
}

/**
 * Per scenario: per server, per metric {median,min,max,values}; ratios per
 * repeat of roomcast (roomcast-cluster in the cluster scenarios) / each other server.
 */
function buildSummary(scenarios, runs, repeats) {
  const summary = {};
  for (const scenario of scenarios) {
    const kind = kKinds[scenario.kind];
    const byServer = {};
    const runOf = (server, repeat) => runs.find((r) => r.scenario === scenario.name && r.server === server && r.repeat === repeat && !r.error);
    for (const server of scenario.servers) {
      byServer[server] = {};
      for (const metric of metricNames(scenario)) {
        const values = Array.from({ length: repeats }, (_, i) => runOf(server, i + 1)?.metrics[metric] ?? null);
        byServer[server][metric] = summarize(values);
      }
    }
    const ratios = [];
    const of = scenario.servers.includes(scenario.ratioOf) ? scenario.ratioOf : kRatioOf.find((s) => scenario.servers.includes(s));
    if (of) {
      for (const other of scenario.servers.filter((s) => s !== of)) {
        for (const metric of kind.headline) {
          const perRepeat = Array.from({ length: repeats }, (_, i) =>
            ratio(runOf(of, i + 1)?.metrics[metric], runOf(other, i + 1)?.metrics[metric]) ?? null);
          ratios.push({ metric, of, versus: other, per_repeat: perRepeat, median: summarize(perRepeat)?.median ?? null });
        }
      }
    }
    summary[scenario.name] = { servers: byServer, ratios };
  }
  return summary;
}

// ---------------------------------------------------------------- environment

function commandOutput(command, args) {
  const result = spawnSync(command, args, { cwd: kRoot, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : null;
}

/** A package's version in bench/reference/node_modules, null when it is not installed. */
function referencePackageVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(kReferenceDir, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

/** socket.io-client's version where the recovery-storm driver finds it (bench/reference, else tests), null when it does not. */
function stormClientVersion() {
  for (const dir of [kReferenceDir, path.join(kRoot, 'tests')]) {
    try {
      const require = createRequire(path.join(dir, 'package.json'));
      return JSON.parse(fs.readFileSync(require.resolve('socket.io-client/package.json'), 'utf8')).version;
    } catch { /* the next place */ }
  }
  return null;
}

/** { mtime, bytes, sha256 } of a file, null when it is not there. */
function fileIdentity(file) {
  try {
    const stat = fs.statSync(file);
    return { mtime: stat.mtime.toISOString(), bytes: stat.size, sha256: createHash('sha256').update(fs.readFileSync(file)).digest('hex') };
  } catch {
    return null;
  }
}

/** `postgres --version` of ROOMCAST_PG_BIN, null when there is none. */
const postgresVersion = () => commandOutput(path.join(kBin.pg, 'postgres'), ['--version']);

function collectMeta(argv, options) {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const limits = fs.existsSync('/proc/self/limits') ? fs.readFileSync('/proc/self/limits', 'utf8') : '';
  const socketio = referencePackageVersion('socket.io');
  const redisAdapter = referencePackageVersion('@socket.io/redis-adapter');
  const redisClient = referencePackageVersion('redis');
  const redisServer = /\bv=(\S+)/.exec(commandOutput(kBin.redis, ['--version']) ?? '')?.[1] ?? null;
  const commit = commandOutput('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = commandOutput('git', ['status', '--porcelain', '--untracked-files=no']);
  return {
    date: new Date().toISOString(),
    command: ['node bench/run.mjs', ...argv].join(' '),
    kernel: commandOutput('uname', ['-r']) ?? os.release(),
    cpu_model: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memory_gib: Math.round(os.totalmem() / 2 ** 30 * 10) / 10,
    open_files_limit: /^Max open files\s+(\S+)/m.exec(limits)?.[1] ?? null,
    node: process.version,
    socketio,
    redis_adapter: redisAdapter,
    redis_client: redisClient,
    redis_server: redisServer,
    cluster_nodes: kClusterNodes,
    socketio_client: stormClientVersion(),
    postgres: postgresVersion(),
    roomcast_commit: commit ? `${commit}${dirty ? ' (with uncommitted changes)' : ''}` : null,
    // Which roomcastd binary exactly (a build tree may be rebuilt while a run goes on).
    roomcastd: fileIdentity(kBin.roomcastd),
    repeats: options.repeats,
    smoke: options.smoke,
    binaries: { ...kBin, reference: path.join(kReferenceDir, 'server.mjs') },
  };
}

// ---------------------------------------------------------------- report

function fmt(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  if (x === 0) return '0';
  return String(Number(x.toPrecision(3)));
}

const fmtCell = (s) => (s ? `${fmt(s.median)} [${fmt(s.min)}–${fmt(s.max)}]` : '–');

/** The scenario's servers and what they get beyond the flags common to every run (bench/README.md). */
function serverLines(scenario, runs) {
  const notes = [];
  for (const server of scenario.servers) {
    const extra = [...scenarioArgs(scenario, server).map((a) => `\`${a}\``),
      ...Object.entries(scenarioEnv(scenario, server)).map(([k, v]) => `\`${k}=${v}\``)];
    if (server === 'roomcast-postgres') {
      const settings = runs.find((r) => r.scenario === scenario.name && r.server === server && r.raw?.postgres)?.raw.postgres.settings ?? {};
      const version = /^PostgreSQL (\S+)/.exec(settings.version ?? '')?.[1] ?? '15';
      const shown = ['fsync', 'synchronous_commit', 'wal_sync_method', 'full_page_writes', 'shared_buffers']
        .filter((k) => settings[k] !== undefined).map((k) => `${k}=${settings[k]}`);
      extra.unshift('`--event_log=postgres --database_url=…`', `on PostgreSQL ${version} of its own (initdb in a temp dir, ` +
        `loopback, ${shown.length ? shown.join(', ') : kPgSettings.join(', ')})`);
    }
    const stream = scenario.kind === 'client-stream';
    if (server === 'roomcast' && scenario.consumer) {
      extra.push(`+ \`bench/consumer ${flagArgs(scenario.consumer).join(' ')}\` (group \`bench\`, ` +
        (stream ? 'event `bench:tell`, counted)' : 'event `bench:ask`, acks `[{"ok":true}]`)'));
    }
    if (server === 'socketio' && scenario.consumer) {
      extra.push(stream ? "counting in process (`socket.on('bench:tell', () => { ... })`)"
        : "answering in process (`socket.on('bench:ask', (data, cb) => cb({ ok: true }))`)");
    }
    if (extra.length) notes.push(`${server} ${extra.join(' ')}`);
  }
  return notes.length ? [`Servers: ${notes.join('; ')}.`, ''] : [];
}

/** What a scenario measured once per run.mjs invocation beside its runs (pg_test_fsync). */
function contextLines(context) {
  const lines = [];
  const fsync = context?.pg_test_fsync;
  if (fsync) {
    lines.push(`The disk under the PostgreSQL data dirs (\`${fsync.command}\` in ${fsync.dir}, once before the runs` +
      `${fsync.filesystem ? `; \`df -hT\`: ${fsync.filesystem.replace(/\s+/g, ' ')}` : ''}):`, '', '```');
    lines.push(...(fsync.summary?.length ? fsync.summary : [`(no summary lines; exit ${fsync.exit})`]), '```', '');
  }
  return lines;
}

/** Per roomcast-postgres run: where the CPU went, and what the log holds. */
function durableDetails(scenario, runs) {
  const lines = [];
  for (const run of runs.filter((r) => r.scenario === scenario.name && r.raw?.postgres)) {
    const { raw } = run;
    const total = raw.server?.cpu_measure_s;
    const cpu = (raw.server?.per_process ?? []).filter((p) => p.cpu_measure_s > 0).map((p) =>
      `${p.role ?? p.pid} ${fmt(p.cpu_measure_s)} s (${fmt(div(ratio(p.cpu_measure_s, total), 0.01))}%)`);
    const committed = raw.postgres.logs?.map((l) => `namespace ${l.nsp} at offset ${fmt(l.last_offset)} (epoch ${l.epoch})`).join(', ');
    lines.push(`- ${run.server} #${run.repeat}: ${fmt(raw.emitted)} emits acknowledged; in PostgreSQL after the run: ${committed || '–'}; ` +
      `server CPU over the window: ${cpu.join(', ')}; total ${fmt(total)} s`);
  }
  if (lines.length) lines.push('');
  return lines;
}

/** Per recovery-storm run: the storm's own figures. */
function stormDetails(scenario, runs) {
  const lines = [];
  for (const run of runs.filter((r) => r.scenario === scenario.name && r.raw?.driver === 'recovery-storm')) {
    const x = run.raw;
    const reasons = Object.entries(x.disconnect_reasons ?? {}).map(([k, v]) => `${v} "${k}"`).join(', ');
    lines.push(`- ${run.server} #${run.repeat}: ${x.connected}/${x.connections} joined in ${fmt(x.connect_seconds)} s; ` +
      `dropped ${x.dropped_connections} (disconnects: ${reasons || 'none'}); ${x.emitted}/${x.events} emitted in ${fmt(x.emit_ms)} ms; ` +
      `let back after ${fmt(x.outage_ms)} ms; reconnected ${x.reconnected}, recovered ${x.recovered} ` +
      `(all: ${x.recover_all_ms === null ? 'not all' : `${fmt(x.recover_all_ms)} ms`}; p50 ${fmt(x.recover_p50_ms)} ms, ` +
      `p99 ${fmt(x.recover_p99_ms)} ms, max ${fmt(x.recover_max_ms)} ms); ${fmt(x.delivered)}/${fmt(x.expected)} events held, ` +
      `${x.complete_clients} clients with exactly their room's events in order; lost ${x.lost}, duplicated ${x.duplicated}; ` +
      `${fmt(x.reconnect_attempts)} reconnection attempts, ${fmt(x.failed_after_let_back)} of them failing after the let-back ` +
      `(proxy: ${fmt(x.proxy?.accepted)} accepted, ${fmt(x.proxy?.refused)} refused); ` +
      `server CPU ${fmt(x.server?.cpu_measure_s)} s over ${fmt(x.measure_seconds)} s`);
  }
  if (lines.length) lines.push('');
  return lines;
}

/** Per client-event run: what the sockets got back, and the consumer's own books. */
function clientEventDetails(scenario, runs) {
  const lines = [];
  for (const run of runs.filter((r) => r.scenario === scenario.name && r.raw?.client_events)) {
    const { client_events: ce, consumer: c, server } = run.raw;
    const errors = Object.entries(ce.errors ?? {}).map(([code, n]) => `${n} ${code}`).join(', ');
    const cpu = (server?.per_process ?? []).map((p) => `${p.role ?? p.pid} ${fmt(p.cpu_measure_s)} s`).join(', ');
    const { receiver } = run.raw;
    let line = receiver !== undefined
      ? `- ${run.server} #${run.repeat}: ${fmt(ce.sent)} sent (no ack), ${fmt(receiver?.events)} received in ` +
        `${fmt(receiver?.receive_s)} s; CPU over the window: ${cpu}`
      : `- ${run.server} #${run.repeat}: ${fmt(ce.sent)} sent, ${fmt(ce.acked)} acked ok, error acks ${errors}, ` +
        `${fmt(ce.unanswered)} unanswered, ${fmt(ce.unexpected_acks)} unexpected; CPU over the window: ${cpu}`;
    if (c) {
      line += `; consumer: ${fmt(c.events)} events, ${fmt(c.acked)} acks answered ok, ` +
        `${Object.values(c.ack_failures ?? {}).reduce((a, n) => a + n, 0)} failed, ${fmt(c.dropped_acks)} dropped`;
    }
    lines.push(line);
  }
  if (lines.length) lines.push('');
  return lines;
}

function markdown(results, plotNote) {
  const { meta, scenarios, summary, runs, failures } = results;
  const lines = [];
  lines.push('# Roomcast benchmarks', '');
  if (meta.smoke) lines.push('**Smoke run (--smoke): tiny loads, for checking the harness only; the figures mean nothing.**', '');
  if (failures?.length) lines.push(`**INCOMPLETE: ${failures.length} run(s) failed, see the end.**`, '');
  lines.push(`Generated by \`${meta.command}\`. Definitions, scenarios and how to rerun: [bench/README.md](../README.md).`, '');
  lines.push('| | |', '|---|---|');
  lines.push(`| date | ${meta.date} |`);
  lines.push(`| roomcast commit | ${meta.roomcast_commit ?? 'unknown'} |`);
  if (meta.roomcastd) {
    lines.push(`| roomcastd binary | ${meta.binaries?.roomcastd ?? ''}, mtime ${meta.roomcastd.mtime}, sha256 ${meta.roomcastd.sha256.slice(0, 12)}… |`);
  }
  lines.push(`| kernel (uname -r) | ${meta.kernel} |`);
  lines.push(`| CPU | ${meta.cpu_model}, ${meta.cores} cores |`);
  lines.push(`| memory | ${meta.memory_gib} GiB |`);
  lines.push(`| open files limit | ${meta.open_files_limit ?? 'unknown'} |`);
  lines.push(`| Node.js | ${meta.node} |`);
  lines.push(`| socket.io | ${meta.socketio ?? 'not installed'} |`);
  if (scenarios.some((s) => s.driver === 'storm')) lines.push(`| socket.io-client (recovery-storm driver) | ${meta.socketio_client ?? 'unknown'} |`);
  if (scenarios.some((s) => s.servers.includes('roomcast-postgres'))) lines.push(`| PostgreSQL (roomcast-postgres) | ${meta.postgres ?? 'unknown'} |`);
  if (scenarios.some((s) => s.cluster)) {
    lines.push(`| clusters | ${meta.cluster_nodes ?? 3} nodes on one redis-server ${meta.redis_server ?? '(version unknown)'}; ` +
      `socketio-cluster: @socket.io/redis-adapter ${meta.redis_adapter ?? '?'}, redis ${meta.redis_client ?? '?'} |`);
  }
  lines.push(`| repeats | ${meta.repeats}, the servers alternating within each repeat |`);
  lines.push('');
  if (results.earlier?.length) {
    const fresh = scenarios.filter((s) => !results.earlier.some((e) => e.scenarios.includes(s.name))).map((s) => s.name);
    lines.push(`Merged (\`--merge\`): this run measured ${fresh.join(', ') || 'nothing'}; the other scenarios are kept from earlier runs:`, '');
    for (const e of results.earlier) {
      const m = e.meta ?? {};
      lines.push(`- ${e.scenarios.join(', ')}: \`${m.command ?? '?'}\` on ${m.date ?? '?'}, commit ${m.roomcast_commit ?? 'unknown'}` +
        `${m.roomcastd ? ` (roomcastd sha256 ${m.roomcastd.sha256.slice(0, 12)}…)` : ''}, ` +
        `${m.cpu_model ?? '?'} (${m.cores ?? '?'} cores), kernel ${m.kernel ?? '?'}, Node.js ${m.node ?? '?'}, socket.io ${m.socketio ?? '?'}, ` +
        `${m.repeats ?? '?'} repeats`);
    }
    lines.push('');
  }
  lines.push('Each cell: median [min–max] over the repeats. ↑ higher is better, ↓ lower is better.', '');
  lines.push(...plotNote, '');
  for (const scenario of scenarios) {
    const s = summary[scenario.name];
    const command = scenario.driver === 'storm' ? `Driver: \`node bench/storm/recovery_storm.mjs ${flagArgs(scenario.flags).join(' ')}\``
      : `Loadgen: \`${flagArgs(scenario.flags).join(' ')}\``;
    lines.push(`## ${scenario.name}`, '', scenario.about, '', command, '', ...serverLines(scenario, runs));
    lines.push(...contextLines(results.context?.[scenario.name]));
    lines.push(`| metric | ${scenario.servers.join(' | ')} |`, `|---|${scenario.servers.map(() => '---:').join('|')}|`);
    for (const metric of metricNames(scenario)) {
      const { label, better } = kMetrics[metric];
      lines.push(`| ${label} ${better === 'higher' ? '↑' : '↓'} | ${scenario.servers.map((srv) => fmtCell(s.servers[srv][metric])).join(' | ')} |`);
    }
    lines.push('');
    for (const r of s.ratios) {
      const { label, better } = kMetrics[r.metric];
      const of = r.of ?? 'roomcast';
      lines.push(`- ${of} / ${r.versus}, ${label} (${better === 'higher' ? '> 1' : '< 1'}: ${of} better): ` +
        `per repeat ${r.per_repeat.map(fmt).join(', ')}; median **${fmt(r.median)}**`);
    }
    const warned = runs.filter((r) => r.scenario === scenario.name && r.warnings?.length);
    for (const r of warned) lines.push(`- warning, ${r.server} #${r.repeat}: ${r.warnings.join('; ')}`);
    if (s.ratios.length || warned.length) lines.push('');
    if (scenario.cluster) lines.push(...clusterDetails(scenario, runs));
    if (scenario.kind === 'durable') lines.push(...durableDetails(scenario, runs));
    if (scenario.kind === 'storm') lines.push(...stormDetails(scenario, runs));
    if (scenario.consumer) lines.push(...clientEventDetails(scenario, runs));
  }
  if (failures?.length) {
    lines.push('## Failed runs', '');
    for (const f of failures) lines.push(`- ${f.scenario} ${f.server} #${f.repeat}: ${f.error.split('\n')[0]}`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

/** Per cluster run: each process's CPU over the window, and the Redis traffic of each roomcast node. */
function clusterDetails(scenario, runs) {
  const lines = [];
  const mib = (bytes) => (Number.isFinite(bytes) ? `${fmt(bytes / 2 ** 20)} MiB` : '–');
  for (const run of runs.filter((r) => r.scenario === scenario.name && !r.error)) {
    const { raw } = run;
    const total = raw.server?.cpu_measure_s;
    const cpu = (raw.server?.per_process ?? []).map((p) =>
      `${p.role ?? p.pid} ${fmt(p.cpu_measure_s)} s (${fmt(div(ratio(p.cpu_measure_s, total), 0.01))}%)`);
    lines.push(`- ${run.server} #${run.repeat}, server CPU over the window: ${cpu.join(', ')}; total ${fmt(total)} s`);
    if (raw.redis) {
      lines.push(`  - redis-server over the whole run: ${mib(raw.redis.total_net_input_bytes)} in, ` +
        `${mib(raw.redis.total_net_output_bytes)} out, ${fmt(raw.redis.total_commands_processed)} commands`);
    }
    for (const n of raw.cluster_nodes ?? []) {
      lines.push(`  - ${n.node} (:${n.port}) from Redis over the whole run: ${mib(n.redis_received_bytes)} ` +
        `(${fmt(n.redis_received_bytes)} B) in ${fmt(n.redis_messages)} messages ` +
        `(${fmt(n.redis_messages_unused)} unused); published ${mib(n.redis_sent_bytes)}`);
    }
  }
  if (lines.length) lines.push('');
  return lines;
}

const gnuplotQuote = (s) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Writes plots/<name>.dat and .gp for every plot with data; runs gnuplot if there is one. Returns markdown lines. */
function writePlots(results, outDir) {
  const plotsDir = path.join(outDir, 'plots');
  fs.mkdirSync(plotsDir, { recursive: true });
  const gnuplot = commandOutput('gnuplot', ['--version']);
  const notes = [];
  const made = [];
  for (const plot of kPlots) {
    const scenarios = results.scenarios.filter((s) => plot.kinds.includes(s.kind) &&
      s.servers.some((srv) => results.summary[s.name].servers[srv][plot.metric]));
    if (!scenarios.length) continue;
    const servers = kServers.filter((srv) => scenarios.some((s) => results.summary[s.name].servers[srv]?.[plot.metric]));
    const scale = plot.scale ?? 1;
    const value = (x) => (Number.isFinite(x) && (!plot.log || x > 0) ? String(Number((x * scale).toPrecision(6))) : '?');
    const dat = [`# ${plot.title}; ${kMetrics[plot.metric].label}${scale !== 1 ? ` x ${scale}` : ''}`,
      `# scenario ${servers.map((srv) => `${srv} ${srv}_min ${srv}_max`).join(' ')}`];
    for (const s of scenarios) {
      const cells = servers.flatMap((srv) => {
        const stat = results.summary[s.name].servers[srv]?.[plot.metric];
        return stat ? [value(stat.median), value(stat.min), value(stat.max)] : ['?', '?', '?'];
      });
      dat.push([s.name, ...cells].join(' '));
    }
    fs.writeFileSync(path.join(plotsDir, `${plot.file}.dat`), `${dat.join('\n')}\n`);
    const columns = servers.map((srv, i) =>
      `${i === 0 ? gnuplotQuote(`${plot.file}.dat`) : '""'} using ${2 + 3 * i}:${3 + 3 * i}:${4 + 3 * i}${i === 0 ? ':xtic(1)' : ''} title ${gnuplotQuote(srv)}`);
    const gp = [
      `# Written by bench/run.mjs. Regenerate the PNG in this directory: gnuplot ${plot.file}.gp`,
      'set encoding utf8',
      'if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {',
      '  set terminal pngcairo size 960,540 font "sans,11"',
      '} else {',
      '  set terminal png size 960,540',
      '}',
      `set output ${gnuplotQuote(`${plot.file}.png`)}`,
      `set title ${gnuplotQuote(plot.title)}`,
      `set ylabel ${gnuplotQuote(plot.ylabel)}`,
      'set datafile missing "?"',
      'set style data histogram',
      'set style histogram errorbars gap 1 lw 1',
      'set style fill solid 0.75 border -1',
      'set boxwidth 0.9',
      'set key top left',
      'set grid ytics',
      'set xtics nomirror',
      plot.log ? 'set logscale y' : 'set yrange [0:*]',
      `plot ${columns.join(', \\\n     ')}`,
      '',
    ];
    fs.writeFileSync(path.join(plotsDir, `${plot.file}.gp`), gp.join('\n'));
    fs.rmSync(path.join(plotsDir, `${plot.file}.png`), { force: true }); // never a stale one
    if (gnuplot) {
      const run = spawnSync('gnuplot', [`${plot.file}.gp`], { cwd: plotsDir, encoding: 'utf8' });
      if (run.status === 0) made.push(plot);
      else notes.push(`- gnuplot failed on plots/${plot.file}.gp: ${(run.stderr || run.error?.message || '').trim().split('\n').slice(-3).join(' ')}`);
    }
  }
  const lines = made.map((plot) => `![${plot.title}](plots/${plot.file}.png)`);
  if (!gnuplot) {
    lines.push('gnuplot was not found, so there are no PNG plots: `apt-get install -y gnuplot-nox`, then ' +
      '`node bench/run.mjs --report` (or `gnuplot X.gp` in plots/, where the .dat and .gp files are).');
  }
  return [...lines, ...notes];
}

/** OUT/results.json, null when there is none (or it does not parse). */
function readResults(outDir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(outDir, 'results.json'), 'utf8'));
  } catch {
    return null;
  }
}

/**
 * --merge: the scenarios of `old` that `fresh` did not run are kept as they
 * were (their runs, summary, context and failures), each with the meta of the
 * run that measured it in `earlier`; the scenarios in kScenarios order.
 */
function mergeResults(old, fresh) {
  if (!old?.scenarios?.length) return fresh;
  const freshNames = new Set(fresh.scenarios.map((s) => s.name));
  const kept = old.scenarios.filter((s) => !freshNames.has(s.name));
  if (!kept.length) return fresh;
  const keptNames = new Set(kept.map((s) => s.name));
  const earlier = [];
  const claimed = new Set();
  for (const e of old.earlier ?? []) {
    const names = e.scenarios.filter((name) => keptNames.has(name));
    names.forEach((name) => claimed.add(name));
    if (names.length) earlier.push({ meta: e.meta, scenarios: names });
  }
  const own = kept.map((s) => s.name).filter((name) => !claimed.has(name));
  if (own.length) earlier.unshift({ meta: old.meta, scenarios: own });
  const order = (name) => {
    const i = kScenarios.findIndex((s) => s.name === name);
    return i < 0 ? kScenarios.length : i;
  };
  const pick = (object) => Object.fromEntries(Object.entries(object ?? {}).filter(([name]) => keptNames.has(name)));
  return {
    meta: fresh.meta,
    earlier,
    scenarios: [...kept, ...fresh.scenarios].sort((a, b) => order(a.name) - order(b.name)),
    summary: { ...pick(old.summary), ...fresh.summary },
    context: { ...pick(old.context), ...fresh.context },
    failures: [...(old.failures ?? []).filter((f) => keptNames.has(f.scenario)), ...fresh.failures],
    runs: [...(old.runs ?? []).filter((r) => keptNames.has(r.scenario)), ...fresh.runs],
  };
}

function writeReport(results, outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const plotNote = writePlots(results, outDir);
  fs.writeFileSync(path.join(outDir, 'results.md'), markdown(results, plotNote));
}

// ---------------------------------------------------------------- main

/** What the cluster servers among `servers` need and is not here. */
function clusterMissing(servers) {
  const missing = [];
  if (kClusterServers.some((s) => servers.has(s)) && spawnSync(kBin.redis, ['--version']).status !== 0) {
    missing.push(`${kBin.redis} (apt-get install -y redis-server, or ROOMCAST_REDIS_SERVER=/path/to/redis-server)`);
  }
  if (servers.has('socketio-cluster') && !(referencePackageVersion('@socket.io/redis-adapter') && referencePackageVersion('redis'))) {
    missing.push('@socket.io/redis-adapter and redis in bench/reference/node_modules (cd bench/reference && npm ci)');
  }
  return missing;
}

const executable = (file) => {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** What roomcast-postgres needs and is not here (when it is among `servers`). */
function postgresMissing(servers) {
  if (!servers.has('roomcast-postgres')) return [];
  const missing = ['initdb', 'pg_ctl', 'postgres', 'psql', 'pg_test_fsync'].filter((tool) => !executable(path.join(kBin.pg, tool)))
    .map((tool) => `${path.join(kBin.pg, tool)} (apt-get install -y postgresql-15, or ROOMCAST_PG_BIN=/path/to/bin)`);
  if (isRoot() && !postgresIds()) missing.push('a postgres user to run PostgreSQL as (apt-get install -y postgresql-15)');
  if (isRoot() && spawnSync('runuser', ['--version']).status !== 0) missing.push('runuser (util-linux)');
  return missing;
}

/** What the recovery-storm driver needs and is not here (when such a scenario is among `scenarios`). */
function stormMissing(scenarios) {
  if (!scenarios.some((s) => s.driver === 'storm')) return [];
  return stormClientVersion() ? [] : ['socket.io-client for bench/storm/recovery_storm.mjs (cd bench/reference && npm ci)'];
}

function checkPrerequisites(scenarios) {
  const missing = [];
  if (scenarios.some((s) => s.driver !== 'storm') && !executable(kBin.loadgen)) missing.push(`loadgen ${kBin.loadgen} (scripts/build.sh)`);
  const servers = new Set(scenarios.flatMap((s) => s.servers));
  if (['roomcast', 'roomcast-cluster', 'roomcast-postgres'].some((s) => servers.has(s)) && !executable(kBin.roomcastd)) {
    missing.push(`roomcastd ${kBin.roomcastd} (scripts/build.sh)`);
  }
  if (servers.has('ceiling') && !executable(kBin.ceiling)) missing.push(`ceiling ${kBin.ceiling} (scripts/build.sh)`);
  if (scenarios.some((s) => s.consumer && s.servers.includes('roomcast')) && !executable(kBin.consumer)) {
    missing.push(`consumer ${kBin.consumer} (scripts/build.sh)`);
  }
  if ((servers.has('socketio') || servers.has('socketio-cluster')) && !referencePackageVersion('socket.io')) {
    missing.push('socket.io in bench/reference/node_modules (cd bench/reference && npm ci)');
  }
  missing.push(...clusterMissing(servers), ...postgresMissing(servers), ...stormMissing(scenarios));
  if (missing.length) {
    process.stderr.write(`run.mjs: missing:\n  ${missing.join('\n  ')}\n`);
    process.exit(1);
  }
}

function onInterrupt(signal) {
  interrupted = true;
  process.stderr.write(`\nrun.mjs: ${signal}, stopping ${live.size} child process(es)${pgClusters.size ? ' and PostgreSQL' : ''}\n`);
  // PostgreSQL is not our child (pg_ctl daemonizes it): stopped here, at once.
  for (const pg of pgClusters) {
    const [command, args] = pgCommand('pg_ctl', ['stop', '-D', pg.data, '-m', 'immediate', '-w', '-t', '10']);
    spawnSync(command, args, { stdio: 'ignore', timeout: 15000 });
    fs.rmSync(pg.dir, { recursive: true, force: true });
  }
  pgClusters.clear();
  for (const child of live) child.kill('SIGTERM');
  setTimeout(() => {
    for (const child of live) child.kill('SIGKILL');
    process.exit(130);
  }, 3000).unref();
  if (!live.size) process.exit(130);
  const check = setInterval(() => {
    if (!live.size) process.exit(130);
  }, 50);
  check.unref();
}

function headlineText(record, scenario) {
  const more = { idle: ['connects_per_s'], storm: ['recovered', 'lost', 'duplicated'] }[scenario.kind] ?? ['p99_ms'];
  return kKinds[scenario.kind].headline.concat(more)
    .filter((m, i, all) => all.indexOf(m) === i)
    .map((m) => `${m}=${fmt(record.metrics[m])}`).join(' ');
}

async function main() {
  const argv = process.argv.slice(2);
  const options = parseArgs(argv);
  if (options.report) {
    const file = path.join(options.out, 'results.json');
    if (!fs.existsSync(file)) usageError(`--report: no ${file}`);
    writeReport(JSON.parse(fs.readFileSync(file, 'utf8')), options.out);
    process.stdout.write(`wrote ${path.join(options.out, 'results.md')}\n`);
    return 0;
  }
  if (!options.explicit) {
    // By default the cluster scenarios take part when they can; asked for
    // by --scenarios or --servers, what they need is required.
    const missing = clusterMissing(new Set(kClusterServers));
    if (missing.length) {
      process.stdout.write(`run.mjs: skipping ${kClusterServers.join(' and ')} (missing: ${missing.join('; ')})\n`);
      options.servers = options.servers.filter((s) => !kClusterServers.includes(s));
    }
    const pgMissing = postgresMissing(new Set(['roomcast-postgres']));
    if (pgMissing.length) {
      process.stdout.write(`run.mjs: skipping roomcast-postgres (missing: ${pgMissing.join('; ')})\n`);
      options.servers = options.servers.filter((s) => s !== 'roomcast-postgres');
    }
    const storms = kScenarios.filter((s) => s.driver === 'storm');
    const noStorm = stormMissing(storms);
    if (noStorm.length) {
      process.stdout.write(`run.mjs: skipping ${storms.map((s) => s.name).join(', ')} (missing: ${noStorm.join('; ')})\n`);
      options.scenarios = options.scenarios.filter((name) => !storms.some((s) => s.name === name));
    }
  }
  const scenarios = planScenarios(options);
  if (!scenarios.length) usageError('no scenario takes part with these --scenarios and --servers');
  checkPrerequisites(scenarios);
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);

  const rawDir = path.join(options.out, 'raw');
  fs.mkdirSync(rawDir, { recursive: true });
  for (const file of fs.readdirSync(rawDir)) {
    if (scenarios.some((s) => file.startsWith(`${s.name}.`))) fs.rmSync(path.join(rawDir, file));
  }
  const meta = collectMeta(argv, options);
  const total = scenarios.reduce((n, s) => n + s.servers.length * options.repeats, 0);
  process.stdout.write(`run.mjs: ${total} runs (${scenarios.length} scenarios, ${options.repeats} repeats) -> ${options.out}\n`);
  // Once per invocation, before the runs: what the disk under PostgreSQL's
  // temp dirs does per fsync, beside the scenarios that commit to it.
  const context = {};
  const durable = scenarios.filter((s) => s.servers.includes('roomcast-postgres'));
  if (durable.length && options.pgTestFsyncS > 0) {
    process.stdout.write(`run.mjs: pg_test_fsync -s ${options.pgTestFsyncS} in ${os.tmpdir()} (about ${17 * options.pgTestFsyncS} s)\n`);
    const fsync = await pgTestFsync(options.pgTestFsyncS);
    if (interrupted) return 130;
    for (const line of fsync.summary) process.stdout.write(`  ${line}\n`);
    if (fsync.exit !== 0) process.stderr.write(`run.mjs: pg_test_fsync exited with ${fsync.exit}:\n${fsync.output.slice(-2000)}\n`);
    for (const s of durable) context[s.name] = { pg_test_fsync: fsync };
  }
  const runs = [];
  const failures = [];
  let index = 0;
  for (const scenario of scenarios) {
    for (let repeat = 1; repeat <= options.repeats; ++repeat) {
      for (const server of scenario.servers) {
        if (interrupted) return 130;
        ++index;
        const label = `[${index}/${total}] ${scenario.name} ${server} #${repeat}`;
        if (index > 1 && options.pauseS > 0) await sleep(options.pauseS * 1000);
        try {
          const record = await runOnce(scenario, server, repeat, options, rawDir);
          runs.push(record);
          const warn = record.warnings.length ? `  WARNING: ${record.warnings.join('; ')}` : '';
          process.stdout.write(`${label}: ${headlineText(record, scenario)} (${record.wall_s.toFixed(1)} s)${warn}\n`);
        } catch (error) {
          if (!(error instanceof RunError)) throw error;
          if (interrupted) return 130;
          process.stderr.write(`${label}: FAILED: ${error.message}\n`);
          failures.push({ scenario: scenario.name, server, repeat, error: error.message });
          if (!options.keepGoing) {
            process.stderr.write(`run.mjs: stopped at the first failure (--keep_going would run on); ${options.out}/results.* left as they were, raw output in ${rawDir}\n`);
            return 1;
          }
        }
      }
    }
  }
  let results = {
    meta,
    scenarios: scenarios.map(({ name, kind, about, flags, servers, cluster, driver, ratioOf, roomcastArgs, referenceEnv, consumer }) => ({
      name, kind, about, flags, servers, ...(cluster ? { cluster } : {}), ...(driver ? { driver } : {}), ...(ratioOf ? { ratioOf } : {}),
      ...(roomcastArgs ? { roomcastArgs } : {}), ...(referenceEnv ? { referenceEnv } : {}), ...(consumer ? { consumer } : {}),
    })),
    summary: buildSummary(scenarios, runs, options.repeats),
    context,
    failures,
    runs,
  };
  if (options.merge) results = mergeResults(readResults(options.out), results);
  writeReport(results, options.out);
  process.stdout.write(`run.mjs: wrote ${path.join(options.out, 'results.md')}, results.json, plots/\n`);
  if (failures.length) {
    process.stderr.write(`run.mjs: ${failures.length} run(s) failed\n`);
    return 1;
  }
  return 0;
}

main().then((code) => process.exit(code), (error) => {
  process.stderr.write(`run.mjs: ${error.stack ?? error}\n`);
  for (const child of live) child.kill('SIGKILL');
  process.exit(1);
});
