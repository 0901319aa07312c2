// Defaults that hold behind a proxy, and deadlines and caps before a session,
// against a real roomcastd on loopback (a proxy's address: private):
//   - with default settings 2,000 socket.io-clients from one address all
//     connect, and all reconnect after a restart on the same port;
//   - a directly exposed server with the limits configured
//     (--limit_private_addresses) still refuses a flood from one address, and
//     a client from another address connects meanwhile;
//   - connections that send a request line and one header and then nothing
//     are closed at --http_header_timeout_ms, counted, while a well-behaved
//     client connects during the flood;
//   - silent connections past --max_unattached_connections_per_ip are closed
//     at once (counted, the gauge shows the rest) and a client from another
//     address connects; a kept-alive connection with no next request is closed
//     at --http_idle_timeout_ms.
// Every load is bounded: 2,000 clients, 300 slow connections, 40 s at most.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { api, parsePrometheus, pollUntil, sampleValue } from '../support/control.js';
import { stopServer } from '../support/fixtures.js';
import { startRoomcastd } from '../support/process.js';
import { eioPath, request } from '../support/raw.js';
import { baseUrl, closeAll, connect, makeSocket, withTimeout } from '../support/sio.js';

for (const name of ['ROOMCAST_MAX_CONNECTIONS', 'ROOMCAST_MAX_CONNECTIONS_PER_IP', 'ROOMCAST_HANDSHAKES_PER_IP_PER_S',
  'ROOMCAST_TRUSTED_PROXIES', 'ROOMCAST_LIMIT_PRIVATE_ADDRESSES', 'ROOMCAST_MAX_UNATTACHED_CONNECTIONS',
  'ROOMCAST_MAX_UNATTACHED_CONNECTIONS_PER_IP', 'ROOMCAST_HTTP_HEADER_TIMEOUT_MS', 'ROOMCAST_HTTP_IDLE_TIMEOUT_MS',
  'INTERNAL_API_KEY', 'JWT_SECRET', 'NEXTAUTH_SECRET', 'NODE_ENV']) {
  delete process.env[name];
}

const kClients = 2000;
// The sanitized run's servers are slower: its waits scale (the deadlines under test do not).
const kScale = Number(process.env.ROOMCAST_TIME_SCALE) > 0 ? Number(process.env.ROOMCAST_TIME_SCALE) : 1;
const scaled = (ms) => Math.round(ms * kScale);

async function metrics(port, host = '127.0.0.1') {
  return parsePrometheus((await api(port, 'GET', '/metrics', undefined, { host })).body);
}

/** Raw TCP connections from `host` that write `text` (if any) and then nothing; each records when it closed. */
async function slowConnections(port, count, { host = '127.0.0.1', text } = {}) {
  const opened = [];
  for (let i = 0; i < count; i += 1) {
    opened.push(new Promise((resolve) => {
      const socket = net.connect({ host, port });
      const entry = { socket, closedAt: null };
      socket.on('error', () => {});
      socket.resume();  // Whatever the server answers is read and dropped, so its close is seen.
      socket.on('close', () => (entry.closedAt = Date.now()));
      socket.once('connect', () => {
        if (text) socket.write(text);
        resolve(entry);
      });
      socket.once('close', () => resolve(entry));
    }));
  }
  return Promise.all(opened);
}

describe('default settings behind a proxy', () => {
  let server;
  const sockets = [];
  after(async () => {
    closeAll(sockets);
    await stopServer(server);
  });

  it(`${kClients} clients from one address all connect, and all reconnect after a restart`, async () => {
    server = await startRoomcastd([]);
    const { port } = server;
    let connects = 0;
    for (let i = 0; i < kClients; i += 200) {
      const batch = [];
      for (let j = i; j < Math.min(kClients, i + 200); j += 1) {
        const socket = makeSocket(baseUrl(port), {
          transports: ['websocket'], reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 1000,
        });
        socket.on('connect', () => (connects += 1));
        sockets.push(socket);
        batch.push(new Promise((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('connect_error', reject);
        }));
        socket.connect();
      }
      await withTimeout(Promise.all(batch), scaled(15000), `clients ${i}..${i + batch.length} connected`);
    }
    assert.equal(sockets.filter((s) => s.connected).length, kClients);
    const before = await metrics(port);
    assert.equal(sampleValue(before, 'roomcast_limit_refusals_total', { limit: 'connections' }), 0);
    assert.equal(sampleValue(before, 'roomcast_limit_refusals_total', { limit: 'handshake_rate' }), 0);

    await stopServer(server);
    const restartedAt = Date.now();
    server = await startRoomcastd([`--port=${port}`]);
    await pollUntil(() => connects >= 2 * kClients && sockets.every((s) => s.connected),
      { timeoutMs: scaled(30000), intervalMs: 100, what: `all ${kClients} back (${connects - kClients} so far)` });
    console.log(`${kClients} clients reconnected ${Date.now() - restartedAt} ms after the restart began`);
    const afterRestart = await metrics(port);
    assert.equal(sampleValue(afterRestart, 'roomcast_limit_refusals_total', { limit: 'handshake_rate' }), 0);
    assert.equal(sampleValue(afterRestart, 'roomcast_sessions_open', {}), kClients);
    assert.match(server.output(), /max_connections=\d+ max_unattached_connections=\d+/);
  });
});

describe('a directly exposed server with the limits configured', () => {
  let server;
  after(() => stopServer(server));

  it('refuses a flood of handshakes from one address; a client from another address connects', async () => {
    server = await startRoomcastd(['--limit_private_addresses', '--max_connections_per_ip=50', '--handshakes_per_ip_per_s=10']);
    const results = await Promise.all(Array.from({ length: 200 }, () =>
      request(server.port, { path: eioPath('transport=polling') })));
    const admitted = results.filter((r) => r.status === 200).length;
    const refused = results.filter((r) => r.status === 503).length;
    assert.equal(admitted + refused, 200);
    assert.ok(admitted <= 50, `at most the burst of 40 (+ refills) admitted, got ${admitted}`);
    assert.ok(refused >= 150, `the rest refused, got ${refused}`);
    const m = await metrics(server.port);
    assert.equal(sampleValue(m, 'roomcast_limit_refusals_total', { limit: 'handshake_rate' }) +
      sampleValue(m, 'roomcast_limit_refusals_total', { limit: 'connections' }), refused);
    const other = await connect(baseUrl(server.port, '::1'), { transports: ['websocket'] });
    other.close();
  });
});

describe('slow senders are cut off at --http_header_timeout_ms', () => {
  let server;
  let slow = [];
  after(async () => {
    for (const s of slow) s.socket.destroy();
    await stopServer(server);
  });

  it('300 connections with a request line and one header are closed and counted; a client connects meanwhile', async () => {
    server = await startRoomcastd(['--http_header_timeout_ms=1500']);
    const start = Date.now();
    slow = await slowConnections(server.port, 300, { text: `GET ${eioPath('transport=polling')} HTTP/1.1\r\nHost: x\r\n` });
    assert.ok(slow.every((s) => s.closedAt === null), 'all open at first');
    const socket = await connect(baseUrl(server.port), { transports: ['polling', 'websocket'] });
    socket.close();
    await pollUntil(() => slow.every((s) => s.closedAt !== null),
      { timeoutMs: scaled(6000), what: `all slow connections closed (${slow.filter((s) => s.closedAt).length} so far)` });
    const latest = Math.max(...slow.map((s) => s.closedAt)) - start;
    assert.ok(latest < 1500 + scaled(3000), `closed by the deadline (last after ${latest} ms)`);
    assert.ok(slow.every((s) => s.closedAt - start >= 1000), 'none before the deadline');
    const m = await metrics(server.port);
    assert.ok(sampleValue(m, 'roomcast_http_timeouts_total', { stage: 'header' }) >= 300);
  });
});

describe('connections that are not sessions yet are capped', () => {
  let server;
  let held = [];
  after(async () => {
    for (const s of held) s.socket.destroy();
    await stopServer(server);
  });

  it('past --max_unattached_connections_per_ip silent connections are closed at once; another address connects', async () => {
    server = await startRoomcastd(['--limit_private_addresses', '--max_unattached_connections_per_ip=50',
      '--http_header_timeout_ms=20000']);
    held = await slowConnections(server.port, 120);
    await pollUntil(() => held.filter((s) => s.closedAt !== null).length >= 70,
      { timeoutMs: scaled(3000), what: `70 closed at once (${held.filter((s) => s.closedAt).length} so far)` });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(held.filter((s) => s.closedAt !== null).length, 70, 'exactly those past the cap');
    // Asked from ::1: 127.0.0.1 has no slot left.
    const m = await metrics(server.port, '::1');
    assert.equal(sampleValue(m, 'roomcast_limit_refusals_total', { limit: 'unattached_connections_per_ip' }), 70);
    // The 50 held, and the metrics request's own connection.
    assert.equal(sampleValue(m, 'roomcast_unattached_connections', {}), 51);
    const other = await connect(baseUrl(server.port, '::1'), { transports: ['websocket'] });
    other.close();
  });

  it('a kept-alive connection with no next request is closed at --http_idle_timeout_ms', async (t) => {
    const idle = await startRoomcastd(['--http_idle_timeout_ms=500']);
    t.after(() => stopServer(idle));
    const [conn] = await slowConnections(idle.port, 1, { text: 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' });
    const answered = Date.now();
    await pollUntil(() => conn.closedAt !== null, { timeoutMs: scaled(3000), what: 'the idle connection closed' });
    assert.ok(conn.closedAt - answered >= 300, `not before the deadline (${conn.closedAt - answered} ms)`);
    const m = await metrics(idle.port);
    assert.equal(sampleValue(m, 'roomcast_http_timeouts_total', { stage: 'idle' }), 1);
  });
});
