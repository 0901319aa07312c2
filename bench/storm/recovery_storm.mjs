#!/usr/bin/env node
// The recovery-storm driver: N socket.io-client 4.8 clients connect over
// WebSocket through a loopback TCP proxy that this process owns, join rooms,
// receive one warm-up event per room (so that each holds an offset), and then
// all lose their transport at once: the proxy destroys every connection and
// refuses new ones for --outage_ms while --events events are emitted to the
// rooms over HTTP (POST /api/socket/emit, straight to the server). Then the
// proxy lets them back; they reconnect (socket.io-client's own reconnection,
// the delays below, the same for every server) and should recover: the same
// session (`socket.recovered === true`) and every missed event, once, in
// order. Prints one JSON line (the loadgen's field names where the meaning
// is the same: connected, delivered, lost, duplicated, measure_seconds,
// server.cpu_measure_s, ...); exits 0 whenever it could measure, whatever
// the server did, and 1 when it could not (server unreachable, clients that
// never joined, no warm-up).
//
//   node bench/storm/recovery_storm.mjs --target=127.0.0.1:PORT [--server_pid=PID[,PID...]]
//        [--connections=1000] [--rooms=10] [--events=100] [--outage_ms=1000]
//        [--reconnection_delay_ms=100] [--reconnection_delay_max_ms=500] [--randomization_factor=0.5]
//        [--connect_concurrency=100] [--timeout_s=30] [--settle_ms=500] [--verbose]
//
// The storm window, over which the server's CPU is read from /proc/PID/stat
// (utime + stime, every pid summed), runs from the drop to the moment every
// client has reconnected and holds every event of its room (or --timeout_s
// after the proxy let them back). Times are from the let-back: recover_*_ms
// when clients saw their reconnection's `connect` (recovered or not),
// recover_all_ms when the last of them did, all recovered (null otherwise),
// delivered_all_ms when the last missed event arrived. --settle_ms more are
// waited for late duplicates before the books are closed.
//
// socket.io-client comes from bench/reference/node_modules (npm ci there),
// else from tests/node_modules.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadSocketIoClient, sampleProcess } from './common.mjs';

const kRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const kHost = '127.0.0.1';
const kEvent = 'storm';

// ---------------------------------------------------------------- options

const kDefaults = {
  target: '', server_pid: '', connections: 1000, rooms: 10, events: 100, outage_ms: 1000,
  reconnection_delay_ms: 100, reconnection_delay_max_ms: 500, randomization_factor: 0.5,
  connect_concurrency: 100, connect_timeout_s: 60, timeout_s: 30, settle_ms: 500, verbose: false,
};

function fail(message) {
  process.stderr.write(`recovery_storm: ${message}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const options = { ...kDefaults };
  for (const arg of argv) {
    const [, name, value] = /^--([a-z_]+)(?:=(.*))?$/s.exec(arg) ?? [];
    if (!(name in kDefaults)) fail(`unknown argument ${arg}`);
    if (typeof kDefaults[name] === 'boolean') {
      if (value !== undefined) fail(`--${name} takes no value`);
      options[name] = true;
    } else if (typeof kDefaults[name] === 'number') {
      const number = Number(value);
      if (value === undefined || value === '' || !Number.isFinite(number) || number < 0) fail(`--${name} must be a number >= 0`);
      options[name] = number;
    } else {
      if (value === undefined) fail(`--${name} needs a value`);
      options[name] = value;
    }
  }
  const match = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(options.target);
  if (!match) fail('--target=IPv4:port is required');
  options.host = match[1];
  options.port = Number(match[2]);
  options.pids = options.server_pid === '' ? [] : options.server_pid.split(',').map(Number);
  if (options.pids.some((p) => !Number.isInteger(p) || p <= 0)) fail(`--server_pid must be pids: ${options.server_pid}`);
  options.connections = Math.floor(options.connections);
  options.rooms = Math.max(1, Math.floor(options.rooms));
  options.events = Math.floor(options.events);
  if (options.connections < 1) fail('--connections must be >= 1');
  return options;
}

const options = parseArgs(process.argv.slice(2));
const log = (text) => {
  if (options.verbose) process.stderr.write(`recovery_storm: ${text}\n`);
};

const client = loadSocketIoClient(kRoot, fail);
const samplePids = () => options.pids.map(sampleProcess);
const sum = (samples, key) => samples.reduce((a, s) => a + s[key], 0);

// ---------------------------------------------------------------- the proxy

/**
 * A loopback TCP proxy to the server: refuse(on) closes every new connection
 * as soon as it is accepted; dropAll() destroys every piped pair (both ends
 * see their TCP connection close).
 */
function startProxy(targetPort) {
  const pairs = new Set();
  const proxy = { port: 0, accepted: 0, refused: 0, refusing: false, server: null };
  const destroyPair = (pair) => {
    pairs.delete(pair);
    pair.client.destroy();
    pair.upstream.destroy();
  };
  proxy.dropAll = () => {
    const n = pairs.size;
    for (const pair of [...pairs]) destroyPair(pair);
    return n;
  };
  proxy.refuse = (on) => {
    proxy.refusing = on;
  };
  proxy.close = () => {
    proxy.dropAll();
    proxy.server.close();
  };
  const forward = (pair, from, to) => {
    from.on('data', (chunk) => {
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    const gone = () => {
      if (pairs.has(pair)) destroyPair(pair);
    };
    from.on('end', gone);
    from.on('close', gone);
    from.on('error', gone);
  };
  proxy.server = net.createServer({ pauseOnConnect: true }, (socket) => {
    proxy.accepted += 1;
    socket.on('error', () => {});
    if (proxy.refusing || pairs.size >= 4 * options.connections + 64) {
      proxy.refused += 1;
      socket.destroy();
      return;
    }
    const upstream = net.connect({ host: options.host, port: targetPort });
    const pair = { client: socket, upstream };
    pairs.add(pair);
    socket.setNoDelay(true);
    upstream.setNoDelay(true);
    forward(pair, socket, upstream);
    forward(pair, upstream, socket);
    upstream.once('connect', () => socket.resume());
  });
  return new Promise((resolve, reject) => {
    proxy.server.once('error', reject);
    proxy.server.listen(0, kHost, () => {
      proxy.port = proxy.server.address().port;
      resolve(proxy);
    });
  });
}

// ---------------------------------------------------------------- emits

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** POST /api/socket/emit {room, event, data}: resolves the status (0: no answer). */
function postEmit(room, data) {
  const body = JSON.stringify({ room, event: kEvent, data });
  return new Promise((resolve) => {
    const request = http.request({
      host: options.host, port: options.port, path: '/api/socket/emit', method: 'POST', agent, timeout: 5000,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode));
      response.on('error', () => resolve(0));
    });
    request.on('error', () => resolve(0));
    request.on('timeout', () => request.destroy());
    request.end(body);
  });
}

// ---------------------------------------------------------------- helpers

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls check() every 5 ms until it is true or `ms` pass; resolves whether it became true. */
async function waitFor(check, ms) {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const round = (x, digits = 3) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);

// ---------------------------------------------------------------- main

async function main() {
  const { rooms, events } = options;
  const roomName = (r) => `room-${r}`;
  // Event k (1..events) goes to room (k - 1) % rooms as that room's seq
  // floor((k - 1) / rooms) + 1; seq 0 is the room's warm-up event.
  const perRoom = Array.from({ length: rooms }, (_, r) => Math.floor(events / rooms) + (r < events % rooms ? 1 : 0));

  const proxy = await startProxy(options.port);
  const url = `http://${kHost}:${proxy.port}`;
  const clients = [];
  let phase = 'connect';
  let dropAt = 0;
  let letBackAt = 0;
  const reasons = {};
  let reconnectAttempts = 0;
  let connectErrors = 0;
  let failedAfterLetBack = 0;

  // Connect and join, --connect_concurrency at a time.
  const connectStart = performance.now();
  let inFlight = 0;
  let next = 0;
  let settledCount = 0;
  const launchNext = () => {
    while (inFlight < options.connect_concurrency && next < options.connections) {
      const i = next++;
      inFlight += 1;
      const c = { i, room: i % rooms, joined: false, failed: false, connects: 0, got: [], socket: null,
        reconnectedAt: null, recovered: null, disconnected: false, lastEventAt: null };
      clients.push(c);
      const socket = client.io(url, {
        transports: ['websocket'], forceNew: true, reconnection: true,
        reconnectionDelay: options.reconnection_delay_ms, reconnectionDelayMax: options.reconnection_delay_max_ms,
        randomizationFactor: options.randomization_factor, timeout: 20000,
      });
      c.socket = socket;
      const settle = (ok) => {
        if (c.joined || c.failed) return;
        if (ok) c.joined = true;
        else c.failed = true;
        inFlight -= 1;
        settledCount += 1;
        launchNext();
      };
      socket.on('connect', () => {
        c.connects += 1;
        if (c.connects === 1) {
          socket.timeout(20000).emit('join', roomName(c.room), (error, answer) => settle(!error && answer?.ok === true));
        } else if (c.reconnectedAt === null && phase === 'recover') {
          c.reconnectedAt = performance.now();
          c.recovered = socket.recovered === true;
        }
      });
      socket.on('connect_error', () => {
        connectErrors += 1;
        if (phase === 'recover') failedAfterLetBack += 1;
        if (c.connects === 0 && !socket.active) settle(false);
      });
      socket.on('disconnect', (reason) => {
        if (phase === 'outage' || phase === 'recover') {
          reasons[reason] = (reasons[reason] ?? 0) + 1;
          c.disconnected = true;
        }
      });
      socket.io.on('reconnect_attempt', () => {
        if (phase !== 'connect') reconnectAttempts += 1;
      });
      // With recovery on, the offset comes as an extra last argument: data is the first.
      socket.on(kEvent, (data) => {
        c.got.push(data);
        c.lastEventAt = performance.now();
      });
    }
  };
  launchNext();
  await waitFor(() => settledCount >= options.connections, options.connect_timeout_s * 1000);
  const connectSeconds = (performance.now() - connectStart) / 1000;
  const joined = clients.filter((c) => c.joined);
  log(`joined ${joined.length}/${options.connections} in ${connectSeconds.toFixed(2)} s`);
  const finish = (code, json) => {
    phase = 'done';
    for (const c of clients) c.socket.disconnect();
    proxy.close();
    agent.destroy();
    if (json) process.stdout.write(`${JSON.stringify(json)}\n`);
    // Sockets may linger in their close handshakes: do not wait for them.
    setTimeout(() => process.exit(code), 100).unref();
  };
  if (joined.length === 0) {
    finish(1);
    return fail(`no client joined through the proxy to ${options.target} (${connectErrors} connect errors)`);
  }

  // Warm-up: one event per room, so that every client holds an offset.
  phase = 'warmup';
  for (let r = 0; r < rooms; ++r) {
    const status = await postEmit(roomName(r), { room: r, seq: 0 });
    if (status !== 200) {
      finish(1);
      return fail(`warm-up emit to ${roomName(r)}: HTTP ${status}`);
    }
  }
  if (!(await waitFor(() => joined.every((c) => c.got.length >= 1), 10000))) {
    const missing = joined.filter((c) => c.got.length < 1).length;
    finish(1);
    return fail(`warm-up: ${missing} of ${joined.length} clients got no event within 10 s`);
  }
  for (const c of joined) c.warmupCount = c.got.length;
  log('warm-up delivered to every client');
  await sleep(200);

  // The storm: drop everything, refuse, emit, let back.
  const beforeCpu = samplePids();
  const driverCpuStart = process.cpuUsage();
  phase = 'outage';
  dropAt = performance.now();
  proxy.refuse(true);
  const dropped = proxy.dropAll();
  let emitErrors = 0;
  const emitStatuses = {};
  for (let k = 1; k <= events; ++k) {
    const r = (k - 1) % rooms;
    const status = await postEmit(roomName(r), { room: r, seq: Math.floor((k - 1) / rooms) + 1 });
    emitStatuses[status] = (emitStatuses[status] ?? 0) + 1;
    if (status !== 200) emitErrors += 1;
  }
  const emitMs = performance.now() - dropAt;
  const waitMs = options.outage_ms - (performance.now() - dropAt);
  if (waitMs > 0) await sleep(waitMs);
  const disconnectedBeforeLetBack = joined.filter((c) => c.disconnected).length;
  phase = 'recover';
  letBackAt = performance.now();
  const outageMs = letBackAt - dropAt;
  proxy.refuse(false);
  log(`dropped ${dropped}, emitted ${events} in ${emitMs.toFixed(0)} ms, let back after ${outageMs.toFixed(0)} ms`);

  const expectedCount = (c) => 1 + perRoom[c.room];
  const complete = (c) => c.reconnectedAt !== null && new Set(c.got.map((d) => d?.seq)).size >= expectedCount(c);
  const allDone = await waitFor(() => joined.every(complete), options.timeout_s * 1000);
  const doneAt = performance.now();
  const afterCpu = samplePids();
  const driverCpu = process.cpuUsage(driverCpuStart);
  log(allDone ? `all reconnected and complete after ${(doneAt - letBackAt).toFixed(0)} ms` : `timed out after ${options.timeout_s} s`);
  await sleep(options.settle_ms);

  // The books.
  let lost = 0;
  let duplicated = 0;
  let unexpected = 0;
  let outOfOrder = 0;
  let completeClients = 0;
  let delivered = 0;
  let expected = 0;
  let deliveredInWindow = 0;
  for (const c of joined) {
    const counts = new Map();
    const order = [];
    for (const d of c.got) {
      if (d?.room !== c.room || !Number.isInteger(d?.seq) || d.seq < 0 || d.seq > perRoom[c.room]) {
        unexpected += 1;
        continue;
      }
      if (!counts.has(d.seq)) order.push(d.seq);
      counts.set(d.seq, (counts.get(d.seq) ?? 0) + 1);
    }
    const n = expectedCount(c);
    expected += n;
    delivered += counts.size;
    deliveredInWindow += c.got.length - c.warmupCount;
    lost += n - counts.size;
    for (const count of counts.values()) duplicated += count - 1;
    const inOrder = order.every((seq, j) => j === 0 || seq > order[j - 1]);
    if (!inOrder) outOfOrder += 1;
    if (inOrder && counts.size === n && c.got.length === n) completeClients += 1;
  }
  const reconnected = joined.filter((c) => c.reconnectedAt !== null);
  const recovered = reconnected.filter((c) => c.recovered);
  const recoverMs = reconnected.map((c) => c.reconnectedAt - letBackAt).sort((a, b) => a - b);
  const lastEvents = joined.filter((c) => c.lastEventAt !== null && c.got.length > c.warmupCount).map((c) => c.lastEventAt);
  const serverCpu = sum(afterCpu, 'cpu_s') - sum(beforeCpu, 'cpu_s');
  const measureSeconds = (doneAt - dropAt) / 1000;
  finish(0, {
    driver: 'recovery-storm',
    socketio_client: client.version,
    connections: options.connections,
    connected: joined.length,
    connect_failures: options.connections - joined.length,
    connect_seconds: round(connectSeconds),
    rooms,
    events,
    emitted: events - emitErrors,
    emit_errors: emitErrors,
    emit_statuses: emitStatuses,
    emit_ms: round(emitMs, 1),
    dropped_connections: dropped,
    disconnected_before_let_back: disconnectedBeforeLetBack,
    outage_ms: round(outageMs, 1),
    reconnected: reconnected.length,
    never_reconnected: joined.length - reconnected.length,
    recovered: recovered.length,
    not_recovered: joined.length - recovered.length,
    recover_all_ms: recovered.length === joined.length ? round(recoverMs.at(-1), 1) : null,
    recover_p50_ms: round(percentile(recoverMs, 50), 1),
    recover_p99_ms: round(percentile(recoverMs, 99), 1),
    recover_max_ms: round(recoverMs.at(-1), 1),
    delivered_all_ms: allDone && lastEvents.length ? round(Math.max(...lastEvents) - letBackAt, 1) : null,
    timed_out: !allDone,
    expected,
    delivered,
    delivered_in_window: deliveredInWindow,
    lost,
    duplicated,
    unexpected,
    out_of_order: outOfOrder,
    complete_clients: completeClients,
    reconnect_attempts: reconnectAttempts,
    connect_errors: connectErrors,
    failed_after_let_back: failedAfterLetBack,
    disconnect_reasons: reasons,
    proxy: { accepted: proxy.accepted, refused: proxy.refused },
    measure_seconds: round(measureSeconds, 4),
    loadgen_cpu_s: round((driverCpu.user + driverCpu.system) / 1e6),
    settings: {
      transports: ['websocket'], reconnectionDelay: options.reconnection_delay_ms,
      reconnectionDelayMax: options.reconnection_delay_max_ms, randomizationFactor: options.randomization_factor,
      settle_ms: options.settle_ms, timeout_s: options.timeout_s,
    },
    server: {
      rss_before_kb: sum(beforeCpu, 'rss_kb'),
      rss_after_kb: sum(afterCpu, 'rss_kb'),
      cpu_measure_s: round(serverCpu, 3),
      cpu_per_delivery_us: deliveredInWindow > 0 ? round(serverCpu * 1e6 / deliveredInWindow, 2) : null,
      cpu_per_client_us: round(serverCpu * 1e6 / joined.length, 1),
      per_process: options.pids.map((pid, i) => ({
        pid, rss_before_kb: beforeCpu[i].rss_kb, rss_after_kb: afterCpu[i].rss_kb,
        cpu_measure_s: round(afterCpu[i].cpu_s - beforeCpu[i].cpu_s, 3),
      })),
    },
  });
}

// Bounded in time whatever happens.
const kHardLimitMs = 1000 * (options.connect_timeout_s + 20 + options.outage_ms / 1000 + options.timeout_s + options.settle_ms / 1000 + 30);
setTimeout(() => fail(`ran over ${kHardLimitMs / 1000} s`), kHardLimitMs).unref();

main().catch((error) => fail(error.stack ?? String(error)));
