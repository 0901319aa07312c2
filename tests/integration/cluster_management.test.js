// Room and socket management acts on the whole cluster: a call made on any
// node reaches the sockets of every node (request/response over Redis, with
// a deadline), and ListRoomSockets pages over all of them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, join } from '../support/cluster.js';
import { api, collect, collected, okJson, pollUntil, show } from '../support/control.js';
import { stopServer } from '../support/fixtures.js';
import { redisAvailable } from '../support/redis.js';
import { withTimeout } from '../support/sio.js';

const roomsOf = (socket) => new Promise((resolve) => socket.emit('rooms', (ack) => resolve(ack.rooms)));

describe('cluster-wide management', { skip: !redisAvailable() && 'redis-server is not installed' }, () => {
  const cluster = useCluster({ nodes: 3 });

  it('JoinRooms and LeaveRooms on one node act on sockets of every node', async () => {
    await pollUntil(async () => (await cluster.status(0)).nodes.length === 3, { what: 'three nodes' });
    const sockets = [await cluster.connect(0), await cluster.connect(1), await cluster.connect(2)];
    for (const socket of sockets) await join(socket, 'team');
    const joined = okJson(await api(cluster.port(1), 'POST', '/v1/rooms:join', { sockets: { room: 'team' }, rooms: ['standup'] }));
    assert.equal(joined.sockets, '3', JSON.stringify(joined));
    for (const socket of sockets) assert.ok((await roomsOf(socket)).includes('standup'));
    // By one socket's id, from a node it is not on.
    const left = okJson(await api(cluster.port(0), 'POST', '/v1/rooms:leave', { sockets: { socketId: sockets[2].id }, rooms: ['standup'] }));
    assert.equal(left.sockets, '1');
    assert.deepEqual(await roomsOf(sockets[2]), ['team']);
    cluster.closeSockets();
  });

  it('ListRoomSockets lists every node\'s sockets, by id, in pages', async () => {
    const sockets = [];
    for (let i = 0; i < 7; ++i) {
      const socket = await cluster.connect(i % 3);
      await join(socket, 'big');
      sockets.push(socket);
    }
    const seen = [];
    let token = '';
    let pages = 0;
    do {
      const page = okJson(await api(cluster.port(2), 'GET', `/v1/rooms/sockets?room=big&pageSize=3${token ? `&pageToken=${token}` : ''}`));
      assert.ok(page.sockets.length <= 3, JSON.stringify(page));
      seen.push(...page.sockets);
      token = page.nextPageToken ?? '';
      assert.ok(++pages <= 4, 'pages end');
    } while (token);
    assert.equal(pages, 3);
    assert.deepEqual(seen.map((s) => s.id), sockets.map((s) => s.id).sort(), 'each socket once, sorted');
    const nodeIds = new Set(seen.map((s) => s.nodeId));
    assert.equal(nodeIds.size, 3, `sockets of three nodes: ${[...nodeIds]}`);
    for (const socket of seen) assert.deepEqual(socket.rooms, ['big']);
    const bad = await api(cluster.port(0), 'GET', '/v1/rooms/sockets?room=big&pageToken=bogus');
    assert.equal(bad.status, 400, show(bad));
    cluster.closeSockets();
  });

  it('DisconnectSockets by room disconnects sockets on every node', async () => {
    const sockets = [await cluster.connect(0), await cluster.connect(1), await cluster.connect(2)];
    for (const socket of sockets) await join(socket, 'kick');
    const gone = sockets.map((socket) => new Promise((resolve) => socket.on('disconnect', resolve)));
    const res = okJson(await api(cluster.port(0), 'POST', '/v1/sockets:disconnect', { sockets: { room: 'kick' } }));
    assert.equal(res.sockets, '3');
    assert.deepEqual(await withTimeout(Promise.all(gone), 3000, 'disconnects'), Array(3).fill('io server disconnect'));
    cluster.closeSockets();
  });

  it('a node that died but is still listed costs the deadline, not the answer', async () => {
    const survivor = await cluster.connect(1);
    await join(survivor, 'after');
    await stopServer(cluster.nodes[2], { signal: 'SIGKILL' });
    const started = Date.now();
    const res = okJson(await api(cluster.port(0), 'POST', '/v1/rooms:join', { sockets: { room: 'after' }, rooms: ['x'] }));
    assert.equal(res.sockets, '1');
    assert.ok(Date.now() - started < 4000, `answered by the deadline (${Date.now() - started} ms)`);
    assert.ok((await roomsOf(survivor)).includes('x'));
    cluster.closeSockets();
  });
});
