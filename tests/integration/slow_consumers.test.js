// Slow consumers, garbage floods and volatile events (issue 4: "Slow
// consumers" and the last bullet of "Fuzzing and bad input").
//
// A socket whose send queue would exceed --send_queue_bytes is disconnected
// with the reason "slow consumer" (WebSocket close code 4000) and counted as
// roomcast_drops_total{reason="slow_consumer"}; volatile packets skip a busy
// transport and count as roomcast_drops_total{reason="volatile"}; healthy
// clients in the same rooms get every event, in order, exactly once; the
// server's RSS stays bounded with hundreds of clients that never read.
//
// On loopback the kernel itself buffers a few MB per connection (socket send
// buffer autotuning up to net.ipv4.tcp_wmem's max, plus the peer's receive
// buffer) before the server's own queue starts to grow, so the bursts below
// keep going, bounded, until the stalled clients have been dropped instead of
// stopping at a fixed byte count that the kernel alone could absorb.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildDir, startRoomcastd } from '../support/process.js';
import { stopServer } from '../support/fixtures.js';
import { RawWs, parseOpen, request } from '../support/raw.js';
import { api, parsePrometheus, pollUntil, sampleValue, show } from '../support/control.js';
import { baseUrl, connect, emitWithAck, sleep, withTimeout } from '../support/sio.js';

const kSendQueueBytes = 65536;
const kFlags = [
  `--send_queue_bytes=${kSendQueueBytes}`,
  '--client_events_per_s=0',
  '--handshakes_per_ip_per_s=0',
  '--max_connections_per_ip=0',
];
const MiB = 1024 * 1024;

/** One roomcastd for test `t`, stopped when it ends. */
async function startServer(t) {
  const server = await startRoomcastd(kFlags);
  t.after(() => stopServer(server));
  return server;
}

/** POST /api/socket/emit; asserts 200 and returns the recipients count as a Number. */
async function emit(port, room, event, data, extra = {}) {
  const res = await api(port, 'POST', '/api/socket/emit', { room, event, data, ...extra });
  assert.equal(res.status, 200, `emit ${event} to ${room}: ${show(res)}`);
  assert.ok(res.json && typeof res.json.recipients === 'string', `EmitResponse: ${show(res)}`);
  return Number(res.json.recipients);
}

/** roomcast_drops_total by reason: { volatile, slowConsumer }. */
async function drops(port) {
  const res = await request(port, { path: '/metrics' });
  assert.equal(res.status, 200, `GET /metrics: ${res.status} ${res.body.slice(0, 200)}`);
  const metrics = parsePrometheus(res.body);
  return {
    volatile: sampleValue(metrics, 'roomcast_drops_total', { reason: 'volatile' }),
    slowConsumer: sampleValue(metrics, 'roomcast_drops_total', { reason: 'slow_consumer' }),
  };
}

/** VmRSS of `pid` in bytes. */
function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  assert.ok(match, `VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

const mib = (bytes) => (bytes / MiB).toFixed(1);

/**
 * A raw WebSocket Engine.IO session that completed the Socket.IO CONNECT to
 * `/` with `{"rooms": rooms}` as its auth payload.
 */
async function rawSioClient(port, rooms) {
  const raw = await RawWs.open(port);
  try {
    raw.open = parseOpen(await raw.next());
    raw.send(`40${JSON.stringify({ rooms })}`);
    raw.connect = await raw.next();
    assert.match(raw.connect, /^40\{"sid":"[^"]+"\}$/, `CONNECT reply with auth ${JSON.stringify({ rooms })}`);
  } catch (err) {
    raw.close();
    throw err;
  }
  return raw;
}

/** A raw client in `rooms` that stops reading: its TCP socket is paused. */
async function stalledClient(port, rooms) {
  const raw = await rawSioClient(port, rooms);
  raw.ws.pause(); // ws._socket.pause(), and ws will not resume it on its own.
  assert.equal(raw.ws._socket.isPaused(), true, 'underlying socket paused');
  return raw;
}

/** Sequence numbers of the `event` EVENT packets (`42["event",{seq}]`) in raw frames. */
function seqsInFrames(frames, event) {
  const seqs = [];
  for (const frame of frames) {
    if (typeof frame !== 'string' || !frame.startsWith('42')) continue;
    const [name, data] = JSON.parse(frame.slice(2));
    if (name === event) seqs.push(data.seq);
  }
  return seqs;
}

/** A socket.io-client socket in `rooms` that records the seq of every `event`. */
async function healthyClient(port, rooms, event, opts = {}) {
  const socket = await connect(baseUrl(port), { transports: ['websocket'], auth: { rooms }, ...opts });
  const seqs = [];
  socket.on(event, (data) => seqs.push(data.seq));
  return { socket, seqs };
}

/** Waits (bounded) until `list` has `n` entries, then `settleMs` for extras. */
async function waitCount(list, n, what, { timeoutMs = 15000, settleMs = 300 } = {}) {
  await pollUntil(() => list.length >= n, { timeoutMs, intervalMs: 25, what: `${n} ${what} (have ${list.length})` }).catch(() => {});
  await sleep(settleMs);
  return list;
}

const range = (n) => Array.from({ length: n }, (_, i) => i);

/** Describes where two seq lists first differ. */
function firstDifference(got, want) {
  const n = Math.max(got.length, want.length);
  for (let i = 0; i < n; i += 1) {
    if (got[i] !== want[i]) return `first difference at index ${i}: got ${got[i]}, expected ${want[i]} (got ${got.length} events, expected ${want.length})`;
  }
  return 'identical';
}

function assertExactSequence(got, n, who) {
  const want = range(n);
  assert.ok(
    got.length === n && got.every((s, i) => s === i),
    `${who} should receive seq 0..${n - 1} exactly once, in order; ${firstDifference(got, want)}`,
  );
}

test('a client that stops reading is disconnected as a slow consumer (close 4000 "slow consumer"); a healthy client in the room gets every event in order', async (t) => {
  const server = await startServer(t);
  const { port } = server;
  const healthy = await healthyClient(port, ['slow'], 'seq');
  const stalled = await stalledClient(port, ['slow']);
  try {
    // ~8 KB events: at least 300, and on (bounded) until the stalled client
    // is dropped. Once the kernel's buffers for its connection are full, its
    // queue passes 64 KiB within a few events; from the emit that overflows
    // it on, emits have one recipient (the healthy client) instead of 2.
    const pad = 'p'.repeat(8 * 1024);
    const kMinEvents = 300;
    const kMaxEvents = 2000; // 16 MB: several times what the kernel buffers per connection.
    const kAfterDrop = 50;
    let sent = 0;
    let droppedAt = -1;
    while (sent < kMaxEvents) {
      const recipients = await emit(port, 'slow', 'seq', { seq: sent, pad });
      if (droppedAt < 0) {
        assert.ok(recipients === 2 || recipients === 1, `recipients of seq ${sent}: ${recipients}`);
        if (recipients === 1) droppedAt = sent;
      } else {
        assert.equal(recipients, 1, `recipients of seq ${sent}, after the stalled client was dropped`);
      }
      sent += 1;
      if (droppedAt >= 0 && sent >= Math.max(kMinEvents, droppedAt + kAfterDrop)) break;
    }
    t.diagnostic(`stalled client no longer a recipient from seq ${droppedAt} (${mib(droppedAt * pad.length)} MiB emitted); ${sent} events sent`);
    assert.ok(droppedAt >= 0, `a client that never reads was still a recipient after ${sent} events of 8 KiB (${mib(sent * pad.length)} MiB) with --send_queue_bytes=${kSendQueueBytes}`);

    const counted = await drops(port);
    assert.equal(counted.slowConsumer, 1, `roomcast_drops_total{reason="slow_consumer"} after one stalled client: ${JSON.stringify(counted)}`);
    assert.equal(counted.volatile, 0, `no volatile events were sent: ${JSON.stringify(counted)}`);

    await waitCount(healthy.seqs, sent, 'events at the healthy client');
    assertExactSequence(healthy.seqs, sent, 'the healthy socket.io-client');
    assert.equal(healthy.socket.connected, true, 'healthy client still connected');

    // Reading again, the stalled client gets what the kernel held, then the close frame.
    stalled.ws.resume();
    const closed = await stalled.waitClosed(10000);
    const got = seqsInFrames(stalled.queue, 'seq');
    t.diagnostic(`stalled client read ${got.length} events before the close frame ${JSON.stringify({ code: closed.code, reason: closed.reason })}`);
    assert.deepEqual({ code: closed.code, reason: closed.reason }, { code: 4000, reason: 'slow consumer' }, 'WebSocket close frame of a slow consumer');
    // What it did get is a gap-free prefix: nothing was silently skipped.
    assert.ok(got.length <= droppedAt, `stalled client got ${got.length} events, dropped at seq ${droppedAt}`);
    assertExactSequence(got, got.length, 'the stalled client (before its close frame)');
  } finally {
    stalled.close();
    healthy.socket.close();
  }
});

test('while one client floods garbage and another reads nothing, a well-behaved client gets all 200 events exactly once and in order', async (t) => {
  const server = await startServer(t);
  const { port } = server;
  const healthy = await healthyClient(port, ['mixed'], 'seq');
  const stalled = await stalledClient(port, ['mixed']);
  const garbage = {
    // An EVENT whose payload is not JSON: an invalid Socket.IO packet.
    'invalid Socket.IO packet 42abc': { sio: true, frames: ['42abc'] },
    // Not an Engine.IO packet type at all.
    'invalid Engine.IO packet xyz': { sio: false, frames: ['xyz'] },
    // A message over maxPayload (1,000,000 bytes by default).
    'oversize frame': { sio: true, frames: [`42["big","${'o'.repeat(1100 * 1000)}"]`] },
    // Garbage after a valid CONNECT, then an unknown Socket.IO type.
    'Socket.IO type 9 and a bad namespace': { sio: true, frames: ['49', '42/nope,["x"]', '4{'] },
  };
  const kinds = Object.keys(garbage);
  const kReconnects = 50;
  const flood = { connections: 0, closedByServer: 0, notClosed: [], errors: [], closes: {} };

  async function floodLoop() {
    for (let i = 0; i < kReconnects; i += 1) {
      const kind = kinds[i % kinds.length];
      const { sio, frames } = garbage[kind];
      let raw;
      try {
        raw = sio ? await rawSioClient(port, ['mixed']) : await RawWs.open(port);
        flood.connections += 1;
        // A burst of the same garbage, as fast as the socket takes it.
        for (let k = 0; k < 5 && raw.isOpen; k += 1) for (const frame of frames) raw.send(frame);
        const closed = await raw.waitClosed(3000).catch(() => null);
        if (closed) {
          flood.closedByServer += 1;
          const key = `${kind}: ${closed.code}`;
          flood.closes[key] = (flood.closes[key] ?? 0) + 1;
        } else {
          flood.notClosed.push(kind);
        }
      } catch (err) {
        flood.errors.push(`${kind}: ${err.message}`);
      } finally {
        raw?.close();
      }
    }
  }

  const kEvents = 200;
  const pad = 'm'.repeat(1024);
  const recipients = [];
  async function emitLoop() {
    for (let seq = 0; seq < kEvents; seq += 1) {
      recipients.push(await emit(port, 'mixed', 'seq', { seq, pad }));
      if (seq % 10 === 0) await sleep(5); // Spread the events over the flood.
    }
  }

  try {
    await withTimeout(Promise.all([floodLoop(), emitLoop()]), 45000, 'flood and emits');
    t.diagnostic(`flood: ${JSON.stringify(flood)}`);
    await waitCount(healthy.seqs, kEvents, 'events at the well-behaved client');
    assertExactSequence(healthy.seqs, kEvents, 'the well-behaved socket.io-client in "mixed"');
    assert.equal(healthy.socket.connected, true, 'well-behaved client still connected');

    // The flood was really rejected each time: every garbage connection was closed by the server.
    assert.deepEqual(flood.errors, [], 'flood connections opened and completed the handshake when asked to');
    assert.equal(flood.connections, kReconnects, 'flood reconnected after every close');
    assert.deepEqual(flood.notClosed, [], 'garbage connections the server left open for 3 s');

    // The stalled client was never read from; at ~1 KiB x 200 the kernel's
    // buffers usually hold it all, so it may well still be connected.
    t.diagnostic(`stalled client open: ${stalled.isOpen}; drops: ${JSON.stringify(await drops(port))}`);

    // Afterwards the server still serves new clients.
    const fresh = await healthyClient(port, ['after'], 'seq');
    try {
      assert.equal(await emit(port, 'after', 'seq', { seq: 0 }), 1, 'recipients in "after"');
      await waitCount(fresh.seqs, 1, 'events at a new client', { settleMs: 100 });
      assert.deepEqual(fresh.seqs, [0]);
      assert.deepEqual(await emitWithAck(fresh.socket, 'join', 'mixed'), { ok: true, rooms: ['after', 'mixed'] });
    } finally {
      fresh.socket.close();
    }
  } finally {
    stalled.close();
    healthy.socket.close();
  }
});

// RSS under a sanitizer says nothing about the server's own bound (issue 4: skip RSS-bound tests there).
const kSanitized = /asan|sanitiz/i.test(path.basename(buildDir)) || Boolean(process.env.ROOMCAST_SANITIZED);

// Note: the server queues one shared encoded packet per emit for all its
// recipients, so at this scale an unbounded queue would cost ~8 MiB of
// distinct packets plus per-entry overhead; what makes this test fail without
// the limit is mostly the drop count and recipients, the RSS bound guards
// against per-client copies.
test('memory stays bounded with 300 clients that never read', { skip: kSanitized && `sanitized build (${buildDir})` }, async (t) => {
  const server = await startServer(t);
  const { port } = server;
  const pid = server.child.pid;
  const kClients = 300;
  const kEventBytes = 16 * 1024;
  const kBriefEvents = 150; // 2.4 MB per client, 720 MB in all if queued without bound.
  const kMaxEvents = 500; // 8 MB per client: past what the kernel buffers per connection.
  const kBoundBytes = 100 * MiB; // 300 x 64 KiB (18.75 MiB) + 64 MiB of slack ≈ 83 MiB, rounded up.
  const clients = [];
  try {
    await sleep(200);
    const baseline = rssBytes(pid);

    for (let i = 0; i < kClients; i += 50) {
      const batch = await Promise.all(range(Math.min(50, kClients - i)).map(() => stalledClient(port, ['flood'])));
      clients.push(...batch);
    }
    const afterConnect = rssBytes(pid);

    const pad = 'f'.repeat(kEventBytes);
    let peak = afterConnect;
    let sent = 0;
    let lastRecipients = kClients;
    // The brief's 150 events first; then on, bounded, until no stalled client is left.
    while (sent < kMaxEvents && (sent < kBriefEvents || lastRecipients > 0)) {
      lastRecipients = await emit(port, 'flood', 'seq', { seq: sent, pad });
      sent += 1;
      if (sent % 5 === 0) peak = Math.max(peak, rssBytes(pid));
    }
    peak = Math.max(peak, rssBytes(pid));

    // Wait (bounded) until the slow-consumer count stops rising.
    let last = (await drops(port)).slowConsumer;
    let stableSince = Date.now();
    const deadline = Date.now() + 15000;
    while (Date.now() - stableSince < 1000 && Date.now() < deadline) {
      await sleep(200);
      peak = Math.max(peak, rssBytes(pid));
      const now = (await drops(port)).slowConsumer;
      if (now !== last) {
        last = now;
        stableSince = Date.now();
      }
    }
    const end = rssBytes(pid);
    peak = Math.max(peak, end);
    const growth = peak - baseline;
    t.diagnostic(
      `RSS baseline ${mib(baseline)} MiB, after ${kClients} connects ${mib(afterConnect)} MiB, peak ${mib(peak)} MiB, ` +
      `end ${mib(end)} MiB; growth ${mib(growth)} MiB (bound ${mib(kBoundBytes)} MiB); ` +
      `${sent} events of 16 KiB sent (${mib(sent * kEventBytes)} MiB per client, ${mib(sent * kEventBytes * kClients)} MiB in all); ` +
      `slow_consumer drops ${last}; recipients of the last emit ${lastRecipients}`,
    );
    assert.ok(growth < kBoundBytes, `RSS grew ${mib(growth)} MiB (baseline ${mib(baseline)}, peak ${mib(peak)}), bound ${mib(kBoundBytes)} MiB`);
    assert.equal(lastRecipients, 0, `stalled clients still recipients after ${sent} events of 16 KiB (${mib(sent * kEventBytes)} MiB each)`);
    assert.equal(last, kClients, `roomcast_drops_total{reason="slow_consumer"} after ${kClients} stalled clients`);
    // The server answers after the flood.
    const res = await request(port, { path: '/healthz' });
    assert.equal(res.status, 200, `GET /healthz after the flood: ${res.status} ${res.body}`);
  } finally {
    for (const c of clients) c.close();
  }
});

/**
 * Stops `socket`'s polling transport between polls: engine.io-client's
 * Polling#pause() waits for the GET in flight to complete, then sends no new
 * one, so the server has no poll to answer (its transport is not writable).
 * `completeGet` makes the GET in flight complete.
 */
async function pausePolling(socket, completeGet) {
  const transport = socket.io.engine.transport;
  assert.equal(transport.name, 'polling', 'a polling transport');
  const paused = new Promise((resolve) => transport.pause(resolve));
  await completeGet();
  await withTimeout(paused, 3000, 'the polling transport to pause');
  let resumed = false;
  return () => {
    if (resumed) return;
    resumed = true;
    // Undo pause(): back to "open" and poll again, as engine.io-client does after a poll.
    transport.readyState = 'open';
    transport._poll();
  };
}

test('volatile events are dropped (and counted) while the transport is busy: a polling client between polls, a WebSocket client that stops reading (before it is disconnected); non-volatile ones all arrive', async (t) => {
  const server = await startServer(t);
  const { port } = server;
  const socket = await connect(baseUrl(port), { transports: ['polling'], auth: { rooms: ['vol'] } });
  const seen = []; // [event, seq] in arrival order
  socket.on('keep', (d) => seen.push(['keep', d.seq]));
  socket.on('vol', (d) => seen.push(['vol', d.seq]));
  let resume = () => {};
  try {
    // Idle (a GET waiting at the server): a volatile event is delivered.
    await sleep(200);
    assert.equal(await emit(port, 'vol', 'vol', { seq: -1 }, { volatile: true }), 1);
    await pollUntil(() => seen.length === 1, { timeoutMs: 3000, intervalMs: 20, what: 'the volatile event to an idle client' });
    assert.deepEqual(seen.splice(0), [['vol', -1]], 'volatile event to a client with a poll waiting');
    assert.deepEqual(await drops(port), { volatile: 0, slowConsumer: 0 });

    // Busy: between polls. A non-volatile event completes the GET in flight.
    resume = await pausePolling(socket, () => emit(port, 'vol', 'keep', { seq: 0 }));
    await sleep(100);
    assert.deepEqual(seen.splice(0), [['keep', 0]]);

    const kBurst = 200;
    const kKeep = 50;
    let keepSeq = 1;
    let volatileRecipients = 0;
    for (let i = 0; i < kBurst; i += 1) {
      volatileRecipients += await emit(port, 'vol', 'vol', { seq: i }, { volatile: true });
      if (i % (kBurst / kKeep) === 0) {
        assert.equal(await emit(port, 'vol', 'keep', { seq: keepSeq }), 1, `recipients of keep ${keepSeq}`);
        keepSeq += 1;
      }
    }
    const counted = await drops(port);
    t.diagnostic(`after ${kBurst} volatile + ${kKeep} non-volatile events to a client between polls: ${JSON.stringify(counted)}; recipients summed over the volatile emits ${volatileRecipients}`);
    assert.ok(counted.volatile > 0, `roomcast_drops_total{reason="volatile"} > 0: ${JSON.stringify(counted)}`);
    // No poll was waiting for any of them: every one is dropped.
    assert.equal(counted.volatile, kBurst, `every volatile event to a client between polls is dropped: ${JSON.stringify(counted)}`);
    assert.equal(counted.slowConsumer, 0, 'non-volatile events within the queue limit');

    resume();
    const kept = [];
    await pollUntil(() => seen.filter(([e]) => e === 'keep').length >= kKeep, { timeoutMs: 5000, intervalMs: 20, what: `${kKeep} non-volatile events` }).catch(() => {});
    await sleep(300);
    for (const [event, seq] of seen) if (event === 'keep') kept.push(seq);
    assert.deepEqual(kept, range(kKeep + 1).slice(1), 'every non-volatile event, once, in order');
    assert.deepEqual(seen.filter(([e]) => e === 'vol'), [], 'no volatile event emitted while busy arrives later');
    assert.equal(socket.connected, true, 'client still connected');

    // On WebSocket, a client that stops reading: once the kernel's buffers are
    // full a write stays in flight (busy), so it loses volatile events first,
    // and is disconnected only when its queue passes --send_queue_bytes.
    const before = await drops(port);
    const stalled = await stalledClient(port, ['vol-ws']);
    try {
      const pad = 'w'.repeat(8 * 1024);
      let sent = 0;
      let volatileDropsAtDisconnect = null;
      for (; sent < 2000 && volatileDropsAtDisconnect === null; sent += 1) {
        const kept = await emit(port, 'vol-ws', 'keep', { seq: sent, pad });
        await emit(port, 'vol-ws', 'vol', { seq: sent }, { volatile: true });
        const now = await drops(port);
        if (now.slowConsumer > before.slowConsumer || kept === 0) volatileDropsAtDisconnect = now.volatile - before.volatile;
      }
      t.diagnostic(`WebSocket client that stops reading: disconnected after ${sent} events of 8 KiB, having lost ${volatileDropsAtDisconnect} volatile events first`);
      assert.notEqual(volatileDropsAtDisconnect, null, `not disconnected after ${sent} events of 8 KiB`);
      assert.ok(volatileDropsAtDisconnect > 0, `volatile events dropped before the slow-consumer disconnect: ${volatileDropsAtDisconnect}`);
      const after = await drops(port);
      assert.equal(after.slowConsumer - before.slowConsumer, 1, `one slow consumer: ${JSON.stringify({ before, after })}`);
    } finally {
      stalled.close();
    }
  } finally {
    resume(); // A paused polling transport would keep the client's ping timer (45 s) alive.
    socket.close();
  }
});
