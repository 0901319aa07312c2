// A mixed cluster during a migration: two Roomcast nodes (--socketio_redis_compat)
// and a Node.js socket.io 4.8 server on @socket.io/redis-adapter 8.x share one
// Redis and one set of rooms. Broadcasts cross both ways, each exactly once,
// and the Node server's fetchSockets / socketsJoin / disconnectSockets include
// Roomcast's sockets.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import { useCluster, join } from '../support/cluster.js';
import { collect, collected, emitHttp, pollUntil } from '../support/control.js';
import { redisAvailable } from '../support/redis.js';
import { baseUrl, connect, withTimeout } from '../support/sio.js';

const roomsOf = (socket) => new Promise((resolve) => socket.emit('rooms', (ack) => resolve(ack.rooms)));

describe('a mixed cluster: Roomcast nodes and a Node.js socket.io server', { skip: !redisAvailable() && 'redis-server is not installed' }, () => {
  const node = {};
  // Registered before the cluster's own hook, so it runs while Redis is still up.
  after(async () => {
    node.client?.close();
    node.io?.close();
    // quit, not disconnect: it lets the adapter's pending UNSUBSCRIBEs finish.
    await Promise.all([node.pub?.quit().catch(() => {}), node.sub?.quit().catch(() => {})]);
  });
  const cluster = useCluster({ nodes: 2, flags: ['--socketio_redis_compat'] });
  before(async () => {
    node.pub = createClient({ url: cluster.redis.url });
    node.sub = node.pub.duplicate();
    for (const client of [node.pub, node.sub]) client.on('error', () => {});
    await Promise.all([node.pub.connect(), node.sub.connect()]);
    node.http = http.createServer();
    node.io = new Server(node.http, { adapter: createAdapter(node.pub, node.sub, { requestsTimeout: 3000 }) });
    node.io.on('connection', (socket) => {
      socket.on('join', (room, ack) => {
        socket.join(room);
        ack?.({ ok: true });
      });
    });
    await new Promise((resolve) => node.http.listen(0, '127.0.0.1', resolve));
    node.url = baseUrl(node.http.address().port);
  });

  it('broadcasts cross both ways, each socket getting each event once', async () => {
    const a = await cluster.connect(0);
    const b = await cluster.connect(1);
    node.roomcast = [a, b];
    node.client = await connect(node.url);
    await join(a, 'mix');
    await join(b, 'mix');
    await join(node.client, 'mix');
    const fromRoomcast = [a, b, node.client].map((socket) => collect(socket, 'from-roomcast'));
    await emitHttp(cluster.port(0), { room: 'mix', event: 'from-roomcast', data: { n: 1 } });
    await emitHttp(cluster.port(1), { event: 'from-roomcast', data: { n: 2 } });  // the whole namespace
    for (const list of fromRoomcast) {
      assert.deepEqual(await collected(list, 2, { settleMs: 500 }), [{ n: 1 }, { n: 2 }]);
    }
    const fromNode = [a, b].map((socket) => {
      const seen = [];
      socket.on('from-node', (text, bytes) => seen.push([text, [...new Uint8Array(bytes)]]));
      return seen;
    });
    node.io.to('mix').emit('from-node', 'hi', Buffer.from([7, 8]));
    for (const list of fromNode) {
      assert.deepEqual(await collected(list, 1, { settleMs: 500 }), [['hi', [7, 8]]]);
    }
  });

  it('fetchSockets, socketsJoin and disconnectSockets on the Node server include Roomcast\'s sockets', async () => {
    const [a, b] = node.roomcast;
    const fetched = await withTimeout(node.io.in('mix').fetchSockets(), 5000, 'fetchSockets');
    assert.deepEqual(fetched.map((socket) => socket.id).sort(), [a.id, b.id, node.client.id].sort());
    for (const socket of fetched) assert.ok(socket.rooms.has('mix'), [...socket.rooms].join());

    await node.io.in('mix').socketsJoin('joined-from-node');
    for (const socket of [a, b]) {
      await pollUntil(async () => (await roomsOf(socket)).includes('joined-from-node'),
        { timeoutMs: 5000, what: 'socketsJoin from the Node server' });
    }
    const gone = new Promise((resolve) => b.on('disconnect', resolve));
    node.io.in(b.id).disconnectSockets();
    assert.equal(await withTimeout(gone, 5000, 'disconnectSockets from the Node server'), 'io server disconnect');
    assert.equal(a.connected, true);
  });
});
