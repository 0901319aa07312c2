// The Socket.IO Admin UI's server side on /admin (@socket.io/admin-ui 0.5.1's
// protocol), with a real socket.io-client as the UI: login, sessions, config,
// server_stats, the live notifications and the UI's commands acting on real
// sockets; the UI's files at /admin/; and no /admin without the settings.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useRoomcastd } from '../support/fixtures.js';
import { connect, connectError, join, roomsOf, waitFor, waitForArgs, closeAll } from '../support/sio.js';
import { adminEnv, connectAdmin, kAdminUser } from '../support/admin.js';

const server = useRoomcastd([], { env: adminEnv });
const plain = useRoomcastd([]);

describe('Admin UI namespace', () => {
  it('refuses a wrong password with a clear error, then limits the address', async () => {
    await server.ready;
    // From ::1: the other tests log in from 127.0.0.1, whose budget this leaves alone.
    const url = server.url('::1');
    const wrong = await connectAdmin(url, { username: kAdminUser, password: 'nope' }).catch((e) => e);
    assert.equal(wrong.message, 'invalid credentials');
    const noAuth = await connectAdmin(url, {}).catch((e) => e);
    assert.equal(noAuth.message, 'invalid credentials');
    let last;
    for (let i = 0; i < 6; i++) {
      last = await connectAdmin(url, { username: kAdminUser, password: `guess-${i}` }).catch((e) => e);
      if (/too many/.test(last.message)) break;
    }
    assert.match(last.message, /too many login attempts/);
    // Even the right password waits now.
    const limited = await connectAdmin(url).catch((e) => e);
    assert.match(limited.message, /too many login attempts/);
  });

  it('logs in, hands out a session that logs in again, and sends config and server_stats', async () => {
    await server.ready;
    const url = server.url();
    const admin = await connectAdmin(url);
    try {
      const [sessionId] = await admin.next('session');
      assert.match(sessionId, /^[\w-]{8,}$/);
      const [config] = await admin.next('config');
      for (const feature of ['EMIT', 'JOIN', 'LEAVE', 'DISCONNECT', 'AGGREGATED_EVENTS', 'ALL_EVENTS']) {
        assert.ok(config.supportedFeatures.includes(feature), feature);
      }
      const [sockets] = await admin.next('all_sockets');
      assert.ok(sockets.some((s) => s.nsp === '/admin' && s.id === admin.socket.id), 'the admin socket itself');

      const started = Date.now();
      const [stats] = await admin.next('server_stats', () => true, 3000);
      assert.ok(Date.now() - started < 3000);
      assert.equal(typeof stats.serverId, 'string');
      assert.equal(stats.pid, server.server.child.pid);
      assert.equal(typeof stats.hostname, 'string');
      assert.ok(stats.uptime > 0);
      assert.ok(Array.isArray(stats.aggregatedEvents));

      // The session alone logs in; a made-up one does not.
      const again = await connectAdmin(url, { sessionId });
      try {
        await again.next('config');
        assert.ok(!again.events.some((e) => e.event === 'session'), 'no new session for a session login');
      } finally {
        again.socket.close();
      }
      const forged = await connectAdmin(url, { sessionId: 'made-up' }).catch((e) => e);
      assert.equal(forged.message, 'invalid credentials');
    } finally {
      admin.socket.close();
    }
  });

  it('counts clients, polling clients and sockets per namespace in server_stats', async () => {
    await server.ready;
    const url = server.url();
    const admin = await connectAdmin(url, undefined, { transports: ['websocket'] });
    const sockets = [];
    try {
      sockets.push(await connect(url, { transports: ['polling'] }));
      sockets.push(await connect(url, { transports: ['websocket'] }));
      const [stats] = await admin.next(
        'server_stats',
        (s) => s.clientsCount === 3 && s.namespaces.find((n) => n.name === '/')?.socketsCount === 2,
        5000,
      );
      assert.equal(stats.pollingClientsCount, 1);
      assert.equal(stats.namespaces.find((n) => n.name === '/admin')?.socketsCount, 1);
      // Traffic since the admin came: connections and packets both ways.
      const seen = new Set();
      for (const e of admin.events.filter((e) => e.event === 'server_stats')) {
        for (const a of e.args[0].aggregatedEvents) if (a.count > 0) seen.add(a.type);
      }
      for (const type of ['rawConnection', 'packetsIn', 'packetsOut', 'bytesIn', 'bytesOut']) {
        assert.ok(seen.has(type), `${type} in ${[...seen]}`);
      }
    } finally {
      closeAll(sockets);
      admin.socket.close();
    }
  });

  it('reports sockets, rooms and events as they happen, and runs the UI commands on real sockets', async () => {
    await server.ready;
    const url = server.url();
    const admin = await connectAdmin(url);
    const client = await connect(url);
    try {
      const [described] = await admin.next('socket_connected', (s) => s.id === client.id);
      assert.equal(described.nsp, '/');
      assert.deepEqual(described.rooms, [client.id]);
      assert.match(described.handshake.address, /127\.0\.0\.1/);
      assert.ok(['polling', 'websocket'].includes(described.transport));
      assert.equal(typeof described.clientId, 'string');

      await join(client, 'lobby');
      await admin.next('room_joined', (nsp, room, id) => nsp === '/' && room === 'lobby' && id === client.id);
      client.emit('hello', { n: 1 });
      const [, , args] = await admin.next('event_received', (nsp, id, a) => id === client.id && a[0] === 'hello');
      assert.deepEqual(args, ['hello', { n: 1 }]);

      // join / leave as the UI sends them: (nsp, room, socket id).
      admin.socket.emit('join', '/', 'vip', client.id);
      await admin.next('room_joined', (nsp, room, id) => room === 'vip' && id === client.id);
      assert.deepEqual((await roomsOf(client)).sort(), ['lobby', 'vip']);
      admin.socket.emit('leave', '/', 'vip', client.id);
      await admin.next('room_left', (nsp, room, id) => room === 'vip' && id === client.id);
      assert.deepEqual(await roomsOf(client), ['lobby']);

      // emit (nsp, filter, event, ...args), and the event_sent it causes.
      const greeted = waitForArgs(client, 'greet');
      admin.socket.emit('emit', '/', 'lobby', 'greet', { hi: true }, 2);
      assert.deepEqual(await greeted, [{ hi: true }, 2]);
      const [, , sent] = await admin.next('event_sent', (nsp, id, a) => id === client.id && a[0] === 'greet');
      assert.deepEqual(sent, ['greet', { hi: true }, 2]);

      // _disconnect (nsp, close, socket id).
      const clientId = client.id;  // socket.io-client forgets it on disconnect.
      const gone = waitFor(client, 'disconnect');
      admin.socket.emit('_disconnect', '/', false, clientId);
      assert.equal(await gone, 'io server disconnect');
      const [, , reason] = await admin.next('socket_disconnected', (nsp, id) => id === clientId);
      assert.equal(reason, 'server namespace disconnect');
    } finally {
      client.close();
      admin.socket.close();
    }
  });

  it('serves the UI at /admin/, set up to connect back to this server', async () => {
    await server.ready;
    const url = server.url();
    const index = await fetch(`${url}/admin/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    const html = await index.text();
    assert.match(html, /localStorage\.setItem\("server_url",location\.origin\)/);
    const script = /src="(js\/app\.[0-9a-f]+\.js)"/.exec(html)[1];
    const js = await fetch(`${url}/admin/${script}`);
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.match(js.headers.get('cache-control'), /immutable/);
    const redirect = await fetch(`${url}/admin`, { redirect: 'manual' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), '/admin/');
    for (const path of ['/admin/../README.md', '/admin/%2e%2e/README.md', '/admin/js/', '/admin/nope.js']) {
      assert.equal((await fetch(`${url}${path}`)).status, 404, path);
    }
    assert.equal((await fetch(`${url}/admin/`, { method: 'POST' })).status, 405);
  });
});

describe('without the admin settings', () => {
  it('has no /admin namespace and no UI', async () => {
    await plain.ready;
    const err = await connectError(plain.url('127.0.0.1', '/admin'), {
      auth: { username: 'admin', password: 'x' },
    });
    assert.equal(err.message, 'Invalid namespace');
    assert.equal((await fetch(`${plain.url()}/admin/`)).status, 404);
  });
});
