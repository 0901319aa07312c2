// The Admin UI against a cluster (two roomcastd on one redis-server): an
// admin logged in on node 0 sees both servers in server_stats, the sockets
// of node 1 in all_sockets and in the live notifications (connect, rooms,
// events, disconnect), and its join/emit/_disconnect act on node 1's sockets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adminEnv, connectAdmin } from '../support/admin.js';
import { useCluster } from '../support/cluster.js';
import { redisAvailable } from '../support/redis.js';
import { join, roomsOf, waitFor, waitForArgs } from '../support/sio.js';

describe('Admin UI in a cluster', { skip: !redisAvailable() && 'redis-server is not installed' }, () => {
  const cluster = useCluster({ nodes: 2, env: adminEnv });

  it('an admin on one node sees every server and the sockets of the others, and acts on them', async () => {
    const admin = await connectAdmin(cluster.url(0), undefined, { transports: ['websocket'] });
    try {
      const remote = await cluster.connect(1, { transports: ['websocket'] });

      // server_stats from both nodes: two server ids, node 1 counting its socket.
      const pids = cluster.nodes.map((n) => n.child.pid);
      const [fromOther] = await admin.next('server_stats', (s) => s.pid === pids[1] &&
        s.namespaces.find((n) => n.name === '/')?.socketsCount === 1, 6000);
      const [fromSelf] = await admin.next('server_stats', (s) => s.pid === pids[0], 6000);
      assert.notEqual(fromOther.serverId, fromSelf.serverId);
      assert.equal(fromSelf.namespaces.find((n) => n.name === '/admin')?.socketsCount, 1);

      // The remote socket is announced live, then in the next admin's all_sockets.
      const [described] = await admin.next('socket_connected', (s) => s.id === remote.id);
      assert.equal(described.nsp, '/');
      const late = await connectAdmin(cluster.url(0), undefined, { transports: ['websocket'] });
      try {
        const [all] = await late.next('all_sockets');
        assert.ok(all.some((s) => s.id === remote.id && s.nsp === '/'), JSON.stringify(all.map((s) => s.id)));
      } finally {
        late.socket.close();
      }

      await join(remote, 'lobby');
      await admin.next('room_joined', (nsp, room, id) => room === 'lobby' && id === remote.id);
      remote.emit('hello', { from: 1 });
      await admin.next('event_received', (nsp, id, args) => id === remote.id && args[0] === 'hello');

      // The UI's commands, sent to node 0, act on node 1's socket.
      admin.socket.emit('join', '/', 'vip', remote.id);
      await admin.next('room_joined', (nsp, room, id) => room === 'vip' && id === remote.id);
      assert.deepEqual((await roomsOf(remote)).sort(), ['lobby', 'vip']);
      const greeted = waitForArgs(remote, 'greet');
      admin.socket.emit('emit', '/', 'vip', 'greet', { hi: 1 });
      assert.deepEqual(await greeted, [{ hi: 1 }]);
      const remoteId = remote.id;
      const gone = waitFor(remote, 'disconnect');
      admin.socket.emit('_disconnect', '/', false, remoteId);
      assert.equal(await gone, 'io server disconnect');
      await admin.next('socket_disconnected', (nsp, id) => id === remoteId);
    } finally {
      admin.socket.close();
    }
  });
});
