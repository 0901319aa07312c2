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
import { stopServer } from '../support/fixtures.js';
import { startRoomcastd } from '../support/process.js';
import {
  clientAfterFirstEvent, cutOff, disconnectAndReconnect, emitNumbered as emitNumberedInOrder, kConnected, kDisconnected,
  kRecovered, letBackIn, postEmit, proxiedClient, range, received, view,
} from '../support/recovery.js';
import { redisAvailable, startRedis } from '../support/redis.js';
import { join, roomsOf, withTimeout } from '../support/sio.js';

delete process.env.ROOMCAST_RECOVERY_WINDOW_MS;
delete process.env.ROOMCAST_CLUSTER_HEARTBEAT_MS;
delete process.env.REDIS_URL;

const kWindowMs = 30000;
// roomcastd's default --cluster_heartbeat_ms; a node is gone after three.
const kDefaultHeartbeatMs = 5000;
// Reconnected and recovered within this long after the client is let back in.
const kRecoverWithinMs = 4000;
const kTestTimeout = { timeout: 60000 };

// Every node appends to the one log in Redis: a run of emits stays in one
// epoch, whichever node it goes through.
const emitNumbered = (port, from, to, request) => emitNumberedInOrder(port, from, to, request, { oneEpoch: true });

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

  it('a transport close, back to the same node: recovered through the Redis log', kTestTimeout, async (t) => {
    const { proxy, socket, log, id } = await proxiedClient(t, b, { rooms: 'same-node' });
    await emitNumbered(b.port, 1, 2, { rooms: ['same-node'] });
    await received(log, 2, { settleMs: 0 });
    assert.equal(await cutOff(proxy, socket), 'transport close');
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
    const { proxy, socket, log, id } = await proxiedClient(t, a);
    assert.equal(socket.recovered, false);
    await join(socket, 'c-room');
    // Events through its own node and through the other one.
    await emitNumbered(a.port, 1, 2, { rooms: ['c-room'] });
    await emitNumbered(b.port, 3, 4, { rooms: ['c-room'] });
    await received(log, 4);

    assert.equal(await cutOff(proxy, socket, { by: () => stopServer(a, { signal: 'SIGKILL' }) }), 'transport close');
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
    const live = await postEmit(b.port, { event: 'n', rooms: ['c-room'], data: 16 });
    assert.equal(live.recipients, 1n, 'the recovered socket is a member of c-room on the surviving node');
    await received(log, 16);
    assert.deepEqual(view(log), [kConnected, ...range(1, 4), kDisconnected, ...range(5, 15), kRecovered, 16]);
    assertOffsets(log);
  });

  it('cut off, then events through its node, then its node SIGKILLed: all recovered on another node', kTestTimeout, async (t) => {
    const d = await startNode();
    const { proxy, socket, log, id } = await clientAfterFirstEvent(t, d, 'late-kill');
    await cutOff(proxy, socket);
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
    const { proxy, socket, log, id } = await proxiedClient(t, c, { rooms: ['drain', 'drain-2'] });
    await emitNumbered(c.port, 1, 1, { rooms: ['drain'] });
    await emitNumbered(b.port, 2, 2, { rooms: ['drain-2'] });
    await received(log, 2);

    assert.equal(await cutOff(proxy, socket, { by: () => c.child.kill('SIGTERM') }), 'transport close');
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
    const { socket, log, id } = await clientAfterFirstEvent(t, b, 'clean');
    await disconnectAndReconnect(socket, () => emitNumbered(b.port, 2, 4, { rooms: ['clean'] }));
    assert.equal(socket.recovered, false);
    assert.notEqual(socket.id, id, 'a new socket id');
    assert.deepEqual(await roomsOf(socket), []);
    await emitNumbered(b.port, 5, 5, { rooms: ['clean'] });
    await postEmit(b.port, { event: 'n', data: 6 });
    await received(log, 2);
    assert.deepEqual(view(log), [kConnected, 1, kDisconnected, kConnected, 6]);
  });
});
