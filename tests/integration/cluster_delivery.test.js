// Three roomcastd nodes on one redis-server act as one gateway: an emit on
// any node reaches the right sockets on every node, over every transport,
// and a node receives only the traffic of rooms it has members in.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, join } from '../support/cluster.js';
import { api, collect, collected, emitHttp, okJson, pollUntil } from '../support/control.js';
import { redisAvailable } from '../support/redis.js';

describe('a cluster on Redis', { skip: !redisAvailable() && 'redis-server is not installed' }, () => {
  const cluster = useCluster({ nodes: 3 });

  it('delivers an emit made on one node to sockets on the others, over WebSocket and polling', async () => {
    const ws = await cluster.connect(1, { transports: ['websocket'] });
    const polling = await cluster.connect(2, { transports: ['polling'] });
    const upgraded = await cluster.connect(2);
    for (const socket of [ws, polling, upgraded]) {
      assert.equal((await join(socket, 'orders')).ok, true);
    }
    const seen = [ws, polling, upgraded].map((socket) => collect(socket, 'order.created'));
    // Right after the acks, with no pause: a join is acknowledged once its node receives the room.
    const result = await emitHttp(cluster.port(0), { room: 'orders', event: 'order.created', data: { id: 7 } });
    assert.equal(result.recipients, 0n, 'recipients counts the emitting node\'s own sockets');
    for (const list of seen) {
      assert.deepEqual(await collected(list, 1), [{ id: 7 }]);
    }
    cluster.closeSockets();
  });

  it('honours rooms, except, namespace-wide and each socket once for several rooms', async () => {
    const a = await cluster.connect(0);
    const b = await cluster.connect(1);
    const c = await cluster.connect(2);
    await join(a, ['red', 'blue']);
    await join(b, ['blue']);
    await join(c, ['green', 'vip']);
    const seen = [a, b, c].map((socket) => collect(socket, 'news'));
    await emitHttp(cluster.port(1), { rooms: ['red', 'blue', 'green'], event: 'news', data: 'several' });
    await emitHttp(cluster.port(2), { rooms: ['blue', 'green'], exceptRooms: ['vip'], event: 'news', data: 'except' });
    await emitHttp(cluster.port(0), { event: 'news', data: 'everyone' });
    const [gotA, gotB, gotC] = await Promise.all(seen.map((list) => collected(list, 3, { settleMs: 500 })));
    assert.deepEqual(gotA, ['several', 'except', 'everyone']);
    assert.deepEqual(gotB, ['several', 'except', 'everyone']);
    assert.deepEqual(gotC, ['several', 'everyone']);
    cluster.closeSockets();
  });

  it('carries volatile emits, and a socket id works as a room across nodes', async () => {
    const a = await cluster.connect(2);
    const seen = collect(a, 'ping.volatile');
    await emitHttp(cluster.port(0), { room: a.id, event: 'ping.volatile', data: 1, volatile: true });
    assert.deepEqual(await collected(seen, 1), [1]);
    cluster.closeSockets();
  });

  it('a node with no member in a room receives none of its traffic', async () => {
    const member = await cluster.connect(1);
    await join(member, 'quiet-room');
    const seen = collect(member, 'hush');
    const before = await cluster.metric(2, 'roomcast_redis_messages_received_total');
    const memberBefore = await cluster.metric(1, 'roomcast_redis_messages_received_total');
    const unusedBefore = await cluster.metric(1, 'roomcast_redis_messages_unused_total');
    assert.equal(typeof before, 'number');
    for (let i = 0; i < 20; ++i) {
      await emitHttp(cluster.port(0), { room: 'quiet-room', event: 'hush', data: i });
    }
    assert.equal((await collected(seen, 20)).length, 20);
    assert.equal(await cluster.metric(2, 'roomcast_redis_messages_received_total'), before,
      'node 2 has no member in quiet-room: it must not receive the room\'s traffic');
    assert.ok(await cluster.metric(1, 'roomcast_redis_messages_received_total') >= memberBefore + 20,
      'node 1 has the member: it receives the room\'s traffic');
    assert.equal(await cluster.metric(1, 'roomcast_redis_messages_unused_total'), unusedBefore,
      'what node 1 receives, it uses');
    cluster.closeSockets();
    // Once the last member leaves, the node unsubscribes.
    await pollUntil(async () => (await cluster.metric(1, 'roomcast_redis_subscriptions')) === 0,
      { what: 'node 1 to drop its subscriptions' });
  });

  it('answers an idempotency key seen on another node as a duplicate, delivering once', async () => {
    const socket = await cluster.connect(2);
    await join(socket, 'billing');
    const seen = collect(socket, 'charged');
    const request = { room: 'billing', event: 'charged', data: { cents: 500 }, idempotencyKey: 'charge-42' };
    const first = await emitHttp(cluster.port(0), request);
    const repeat = await emitHttp(cluster.port(1), request, { duplicate: true });
    assert.equal(repeat.offset, first.offset, 'the repeat answers the first offset');
    assert.deepEqual(await collected(seen, 1, { settleMs: 500 }), [{ cents: 500 }]);
    cluster.closeSockets();
  });

  it('numbers events per namespace across the cluster, in Redis', async () => {
    const offsets = [];
    for (let i = 0; i < 6; ++i) {
      offsets.push((await emitHttp(cluster.port(i % 3), { room: 'nobody', event: 'count', data: i })).offset);
    }
    for (let i = 1; i < offsets.length; ++i) assert.equal(offsets[i], offsets[i - 1] + 1n, `offsets ${offsets}`);
    assert.equal(Number(cluster.redis.cli('XLEN', 'socket.io:rc:{/}:log').trim()) >= 6, true);
  });

  it('Status lists every node and the cluster totals', async () => {
    await cluster.connect(0);
    await cluster.connect(1);
    await cluster.connect(1);
    const status = await pollUntil(async () => {
      const body = await cluster.status(2);
      return body.cluster.sockets === '3' && body.nodes.length === 3 ? body : null;
    }, { what: 'three nodes and three sockets in Status' });
    assert.equal(status.connections, '0', 'connections stays this node\'s own');
    const ids = status.nodes.map((node) => node.id);
    assert.deepEqual([...ids].sort(), ids);
    for (const node of status.nodes) {
      assert.match(node.address, /:\d+$/);
      assert.ok(Date.parse(node.lastHeartbeat) > Date.now() - 10000, JSON.stringify(node));
    }
    assert.deepEqual(status.nodes.map((node) => node.sockets).sort(), ['0', '1', '2']);
    cluster.closeSockets();
  });
});
