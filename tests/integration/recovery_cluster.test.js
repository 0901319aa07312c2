// Connection state recovery across a cluster on Redis: sessions and the event
// log live in Redis, so a client whose node dies (SIGKILL: it writes nothing
// on the way out; SIGTERM: it drains) recovers on another node as soon as it
// reconnects there: same socket id, `recovered === true`, its rooms, every
// event it missed in order and once. That must not wait for the dead node's
// heartbeats to expire: the nodes keep the default --cluster_heartbeat_ms
// (5000; a node counts as gone after three), and recovery is asserted within
// a few seconds. A clean disconnect is not recovered.
//
// The client reaches the nodes through a loopback proxy
// (../support/proxy.js) whose backend is switched from the dead node to a
// live one, like a load balancer would. Single node: recovery.test.js.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, okJson, u64 } from '../support/control.js';
import { stopServer } from '../support/fixtures.js';
import { startRoomcastd } from '../support/process.js';
import { startProxy } from '../support/proxy.js';
import { redisAvailable, startRedis } from '../support/redis.js';
import { join, kStepTimeoutMs, makeSocket, roomsOf, sleep, waitFor, waitForArgs, withTimeout } from '../support/sio.js';

delete process.env.ROOMCAST_RECOVERY_WINDOW_MS;
delete process.env.ROOMCAST_CLUSTER_HEARTBEAT_MS;
delete process.env.REDIS_URL;

const kWindowMs = 30000;
// roomcastd's default --cluster_heartbeat_ms; a node is gone after three.
const kDefaultHeartbeatMs = 5000;
// Reconnected and recovered within this long after the client is let back in.
const kRecoverWithinMs = 4000;
const kTestTimeout = { timeout: 60000 };
const kReconnect = {
  reconnection: true,
  reconnectionDelay: 50,
  reconnectionDelayMax: 100,
  randomizationFactor: 0,
  reconnectionAttempts: 300,
};
const kConnected = 'connected';
const kRecovered = 'recovered';
const kDisconnected = 'disconnect';

/** POST /v1/emit on `port`; asserts 200 and resolves { recipients, offset (BigInts), epoch }. */
async function emit(port, request) {
  const body = okJson(await api(port, 'POST', '/v1/emit', request));
  return { recipients: u64(body.recipients, 'recipients'), offset: u64(body.offset, 'offset'), epoch: body.epoch };
}

/** Emits event `n` with data from..to through `port`, in order; asserts increasing offsets in one epoch. */
async function emitNumbered(port, from, to, request = {}) {
  const results = [];
  for (let i = from; i <= to; i += 1) results.push(await emit(port, { event: 'n', ...request, data: i }));
  for (let i = 1; i < results.length; i += 1) {
    assert.ok(results[i].offset > results[i - 1].offset, `offsets increase: ${results.map((r) => r.offset).join(',')}`);
    assert.equal(results[i].epoch, results[i - 1].epoch, 'one epoch');
  }
  return results;
}

const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Records events (all arguments), connects (id, recovered) and disconnects (reason) of `socket`, in order. */
function record(socket) {
  const log = [];
  socket.onAny((event, ...args) => log.push({ event, args }));
  socket.on('connect', () => log.push({ event: socket.recovered ? kRecovered : kConnected, id: socket.id }));
  socket.on('disconnect', (reason) => log.push({ event: kDisconnected, reason }));
  return log;
}

/** The log compactly: event `n` as its number, other events as name=<json>, and the markers. */
const view = (log) => log.map((e) => (e.event === 'n' ? e.args[0]
  : [kConnected, kRecovered, kDisconnected].includes(e.event) ? e.event : `${e.event}=${JSON.stringify(e.args[0])}`));
const countOf = (log, event = 'n') => log.filter((e) => e.event === event).length;

/** Waits until `log` holds `n` "n" events, then `settleMs` for duplicates to show. */
async function received(log, n, { timeoutMs = 5000, settleMs = 300 } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (countOf(log) < n) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} events; the log: ${JSON.stringify(view(log))}`);
    await sleep(20);
  }
  await sleep(settleMs);
}

/** Each "n" event has its data and a string offset, offsets distinct. */
function assertOffsets(log) {
  const offsets = log.filter((e) => e.event === 'n').map((e) => {
    assert.equal(e.args.length, 2, `data and offset: ${JSON.stringify(e.args)}`);
    assert.equal(typeof e.args[1], 'string', `a string offset: ${JSON.stringify(e.args)}`);
    return e.args[1];
  });
  assert.equal(new Set(offsets).size, offsets.length, `distinct offsets: ${JSON.stringify(offsets)}`);
}

describe('connection state recovery across a cluster on Redis', { skip: !redisAvailable() && 'redis-server is not installed' }, () => {
  let redis;
  const started = [];
  const startNode = async (extra = []) => {
    const node = await startRoomcastd([`--redis_url=${redis.url}`, `--recovery_window_ms=${kWindowMs}`, ...extra]);
    started.push(node);
    return node;
  };
  let a;
  let b;

  before(async () => {
    redis = await startRedis();
    a = await startNode();
    b = await startNode();
  });
  after(async () => {
    for (const node of started) await stopServer(node);
    await redis?.stop();
  });

  /** A proxy to `node` and a client connected through it; both closed after the test. */
  async function client(t, node) {
    const proxy = await startProxy({ target: node.port });
    const socket = makeSocket(proxy.url, { transports: ['websocket'], ...kReconnect });
    t.after(async () => {
      socket.close();
      await proxy.close();
    });
    const log = record(socket);
    const connected = new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    socket.connect();
    await withTimeout(connected, kStepTimeoutMs + 1000, 'connect through the proxy');
    return { proxy, socket, log };
  }

  /**
   * Lets the held-off client back in and resolves how long it took to be
   * connected again (ms), failing after `ms`.
   */
  async function letBackIn(proxy, socket, ms = 10000) {
    const back = waitFor(socket, 'connect', ms);
    const t0 = Date.now();
    proxy.refuse(false);
    await back;
    return Date.now() - t0;
  }

  it('a transport close, back to the same node: recovered through the Redis log', kTestTimeout, async (t) => {
    const { proxy, socket, log } = await client(t, b);
    const id = socket.id;
    await join(socket, 'same-node');
    await emitNumbered(b.port, 1, 2, { rooms: ['same-node'] });
    await received(log, 2, { settleMs: 0 });
    proxy.refuse(true);
    const gone = waitForArgs(socket, 'disconnect', 5000);
    proxy.dropAll();
    assert.equal((await gone)[0], 'transport close');
    await emitNumbered(b.port, 3, 5, { rooms: ['same-node'] });
    await emitNumbered(a.port, 6, 8, { rooms: ['same-node'] });
    await letBackIn(proxy, socket);
    assert.equal(socket.recovered, true);
    assert.equal(socket.id, id);
    assert.deepEqual(await roomsOf(socket), ['same-node']);
    await emitNumbered(a.port, 9, 9, { rooms: ['same-node'] });
    await received(log, 9);
    assert.deepEqual(view(log), [kConnected, 1, 2, kDisconnected, ...range(3, 8), kRecovered, 9]);
    assertOffsets(log);
  });

  it('its node SIGKILLed: recovers on the other node at once, every missed event in order, once', kTestTimeout, async (t) => {
    const { proxy, socket, log } = await client(t, a);
    const id = socket.id;
    assert.equal(socket.recovered, false);
    await join(socket, 'c-room');
    // Events through its own node and through the other one.
    await emitNumbered(a.port, 1, 2, { rooms: ['c-room'] });
    await emitNumbered(b.port, 3, 4, { rooms: ['c-room'] });
    await received(log, 4);

    proxy.refuse(true);
    const gone = waitForArgs(socket, 'disconnect', 5000);
    await stopServer(a, { signal: 'SIGKILL' });
    const [reason] = await gone;
    assert.equal(reason, 'transport close');
    proxy.target = b.port;
    await emitNumbered(b.port, 5, 14, { rooms: ['c-room'] });
    await emitNumbered(b.port, 15, 15, {});

    const tookMs = await letBackIn(proxy, socket);
    t.diagnostic(`reconnected and recovered ${tookMs} ms after being let back in`);
    assert.ok(tookMs < kRecoverWithinMs,
      `recovered ${tookMs} ms after reconnecting (must not wait for 3 heartbeats of ${kDefaultHeartbeatMs} ms)`);
    assert.equal(socket.recovered, true, 'recovered on the other node');
    assert.equal(socket.id, id, 'the same socket id on the other node');
    assert.deepEqual(await roomsOf(socket), ['c-room']);
    // It now lives on the other node: that node's emit reaches it locally.
    const live = await emit(b.port, { event: 'n', rooms: ['c-room'], data: 16 });
    assert.equal(live.recipients, 1n, 'the recovered socket is a member of c-room on the surviving node');
    await received(log, 16);
    assert.deepEqual(view(log), [kConnected, ...range(1, 4), kDisconnected, ...range(5, 15), kRecovered, 16]);
    assertOffsets(log);
  });

  it('cut off, then events through its node, then its node SIGKILLed: all recovered on another node', kTestTimeout, async (t) => {
    const d = await startNode();
    const { proxy, socket, log } = await client(t, d);
    const id = socket.id;
    await join(socket, 'late-kill');
    await emitNumbered(d.port, 1, 1, { rooms: ['late-kill'] });
    await received(log, 1, { settleMs: 0 });
    proxy.refuse(true);
    const gone = waitForArgs(socket, 'disconnect', 5000);
    proxy.dropAll();
    await gone;
    // Its node saw it go and logs events for it; then that node dies too.
    await emitNumbered(d.port, 2, 4, { rooms: ['late-kill'] });
    await stopServer(d, { signal: 'SIGKILL' });
    proxy.target = b.port;
    await emitNumbered(b.port, 5, 6, { rooms: ['late-kill'] });
    const tookMs = await letBackIn(proxy, socket);
    t.diagnostic(`reconnected and recovered ${tookMs} ms after being let back in`);
    assert.ok(tookMs < kRecoverWithinMs, `recovered ${tookMs} ms after reconnecting`);
    assert.equal(socket.recovered, true);
    assert.equal(socket.id, id);
    await received(log, 6);
    assert.deepEqual(view(log), [kConnected, 1, kDisconnected, ...range(2, 6), kRecovered]);
    assertOffsets(log);
  });

  it('its node drained by SIGTERM: recovers on the other node', kTestTimeout, async (t) => {
    const c = await startNode(['--drain_grace_ms=100', '--drain_deadline_ms=2000']);
    const { proxy, socket, log } = await client(t, c);
    const id = socket.id;
    await join(socket, ['drain', 'drain-2']);
    await emitNumbered(c.port, 1, 1, { rooms: ['drain'] });
    await emitNumbered(b.port, 2, 2, { rooms: ['drain-2'] });
    await received(log, 2);

    proxy.refuse(true);
    const gone = waitForArgs(socket, 'disconnect', 5000);
    c.child.kill('SIGTERM');
    const [reason] = await gone;
    assert.equal(reason, 'transport close');
    assert.deepEqual(await withTimeout(c.exited, 5000, 'the drained node to exit'), { code: 0, signal: null });
    proxy.target = b.port;
    await emitNumbered(b.port, 3, 8, { rooms: ['drain'] });
    await emitNumbered(b.port, 9, 10, { rooms: ['drain', 'drain-2'] });

    const tookMs = await letBackIn(proxy, socket);
    t.diagnostic(`reconnected and recovered ${tookMs} ms after being let back in`);
    assert.ok(tookMs < kRecoverWithinMs, `recovered ${tookMs} ms after reconnecting`);
    assert.equal(socket.recovered, true);
    assert.equal(socket.id, id);
    assert.deepEqual(await roomsOf(socket), ['drain', 'drain-2']);
    await emitNumbered(b.port, 11, 11, { rooms: ['drain-2'] });
    await received(log, 11);
    assert.deepEqual(view(log), [kConnected, 1, 2, kDisconnected, ...range(3, 10), kRecovered, 11]);
    assertOffsets(log);
  });

  it('a clean disconnect (socket.disconnect(), then connect()) is not recovered', kTestTimeout, async (t) => {
    const { socket, log } = await client(t, b);
    const id = socket.id;
    await join(socket, 'clean');
    await emitNumbered(b.port, 1, 1, { rooms: ['clean'] });
    await received(log, 1, { settleMs: 0 });
    socket.disconnect();
    await emitNumbered(b.port, 2, 4, { rooms: ['clean'] });
    const back = waitFor(socket, 'connect', 5000);
    socket.connect();
    await back;
    assert.equal(socket.recovered, false);
    assert.notEqual(socket.id, id, 'a new socket id');
    assert.deepEqual(await roomsOf(socket), []);
    await emitNumbered(b.port, 5, 5, { rooms: ['clean'] });
    await emit(b.port, { event: 'n', data: 6 });
    await received(log, 2);
    assert.deepEqual(view(log), [kConnected, 1, kDisconnected, kConnected, 6]);
  });
});
