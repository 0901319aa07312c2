// Abuse limits and room policy, against a real roomcastd on loopback:
//   - connection admission: a per-address cap, a global cap, a handshake rate
//     per address (on loopback with --limit_private_addresses: by default
//     private addresses, being proxies', are not limited per address) (HTTP 503 with a JSON body on polling, a refused WebSocket
//     upgrade), X-Forwarded-For believed only from --trusted_proxies, each
//     refusal counted in roomcast_limit_refusals_total and logged once per
//     interval rather than once per attempt;
//   - the client event rate per socket (a `limit` error ack, the socket stays);
//   - the control plane's emit size and batch size;
//   - the room policy for authenticated browsers: a user's own room by
//     default, the token's `rooms` claim, a policy file with {sub} /
//     {claims.x} templates, all-or-nothing lists, CONNECT auth.rooms, the
//     control plane placing sockets anywhere, public namespaces, and bad
//     policy files refused at startup.
// Tokens are minted by the npm `jsonwebtoken` package.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { api, assertRpcError, assertEmitResponse, Code, okJson, parsePrometheus, pollUntil, sampleValue, show } from '../support/control.js';
import { runToExit, useRoomcastd } from '../support/fixtures.js';
import { eioPath, parseOpen, pollPost, RawWs, request } from '../support/raw.js';
import { connect, connectError, emitWithAck, roomsOf, sleep, waitFor } from '../support/sio.js';

// Every server below gets its settings from the flags this file passes,
// nothing from the environment the tests happen to run in.
for (const name of [
  'JWT_SECRET', 'ROOMCAST_JWT_PUBLIC_KEY_FILE', 'ROOMCAST_JWT_LEEWAY_S', 'ROOMCAST_JWT_ISSUER',
  'ROOMCAST_JWT_AUDIENCE', 'NEXTAUTH_SECRET', 'ROOMCAST_PUBLIC_NAMESPACES', 'ROOMCAST_ROOM_POLICY',
  'NODE_ENV', 'INTERNAL_API_KEY', 'ROOMCAST_INSECURE', 'ROOMCAST_NAMESPACES',
  'ROOMCAST_MAX_CONNECTIONS', 'ROOMCAST_MAX_CONNECTIONS_PER_IP', 'ROOMCAST_HANDSHAKES_PER_IP_PER_S',
  'ROOMCAST_TRUSTED_PROXIES', 'ROOMCAST_CLIENT_EVENTS_PER_S', 'ROOMCAST_MAX_EMIT_BYTES',
  'ROOMCAST_MAX_BATCH_SIZE', 'ROOMCAST_MAX_ROOMS_PER_SOCKET', 'CORS_ORIGIN', 'LOG_LEVEL', 'LOG_FORMAT',
]) {
  delete process.env[name];
}

const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'roomcast-limits-policy-'));
after(() => fs.rmSync(tmpDir, { recursive: true, force: true }));

function writeTmp(name, contents) {
  const file = path.join(tmpDir, name);
  fs.writeFileSync(file, contents);
  return file;
}

// ---------------------------------------------------------------- helpers

/** A raw Engine.IO polling handshake (GET /socket.io/?EIO=4&transport=polling). */
function handshake(port, { headers, host } = {}) {
  return request(port, { path: eioPath('transport=polling'), headers, host });
}

/** Asserts an admitted handshake (HTTP 200 and an open packet); returns the sid. */
function assertAdmitted(res, what = 'handshake') {
  assert.equal(res.status, 200, `${what} admitted: HTTP ${res.status} ${res.body}`);
  const open = parseOpen(res.body);
  assert.equal(typeof open.sid, 'string', `${what}: ${res.body}`);
  return open.sid;
}

/** Asserts an HTTP 503 whose JSON body {code, message} names the limit (`message` RegExp). */
function assertRefused(res, message, what = 'handshake') {
  assert.equal(res.status, 503, `${what} refused with 503: HTTP ${res.status} ${res.body}`);
  assert.match(res.headers['content-type'] ?? '', /application\/json/, `${what}: JSON body: ${res.headers['content-type']}`);
  let body;
  try {
    body = JSON.parse(res.body);
  } catch {
    assert.fail(`${what}: the 503 body is JSON: ${res.body}`);
  }
  assert.equal(typeof body.code, 'number', `${what}: numeric code: ${res.body}`);
  assert.equal(typeof body.message, 'string', `${what}: message: ${res.body}`);
  assert.match(body.message, message, `${what}: the message names the limit: ${res.body}`);
  return body;
}

/** Asserts a raw WebSocket upgrade to /socket.io/ is refused with HTTP 503. */
async function assertWsRefused(port, opts = {}) {
  await assert.rejects(RawWs.open(port, opts), (err) => {
    assert.equal(err.statusCode, 503, `WebSocket upgrade refused with 503, got: ${err.message}`);
    return true;
  });
}

async function scrape(port) {
  const res = await request(port, { path: '/metrics' });
  assert.equal(res.status, 200, `GET /metrics: HTTP ${res.status}`);
  return parsePrometheus(res.body);
}

/** roomcast_limit_refusals_total{limit=`limit`} */
async function refusals(port, limit) {
  return sampleValue(await scrape(port), 'roomcast_limit_refusals_total', { limit });
}

/** All four roomcast_limit_refusals_total samples, by limit. */
async function allRefusals(port) {
  const metrics = await scrape(port);
  const out = {};
  for (const limit of ['connections', 'handshake_rate', 'client_event_rate', 'emit_size']) {
    out[limit] = sampleValue(metrics, 'roomcast_limit_refusals_total', { limit });
  }
  return out;
}

/** roomcast_joins_refused_total{reason="forbidden"} */
async function forbiddenJoins(port) {
  return sampleValue(await scrape(port), 'roomcast_joins_refused_total', { reason: 'forbidden' });
}

/** Waits until roomcast_sessions_open is `n` (a closed session has been destroyed). */
async function sessionsOpen(port, n) {
  await pollUntil(async () => sampleValue(await scrape(port), 'roomcast_sessions_open') === n, {
    timeoutMs: 5000,
    intervalMs: 50,
    what: `roomcast_sessions_open == ${n}`,
  });
  await sleep(50);  // The admission goes with the session's destruction.
}

/** Closes a raw polling session by posting the Engine.IO close packet. */
async function closePolling(port, sid) {
  const res = await pollPost(port, sid, '1');
  assert.equal(res.status, 200, `close packet posted: HTTP ${res.status} ${res.body}`);
}

/** Lines of the server's log that report a refused connection. */
const refusalLogLines = (server) => server.output().split('\n').filter((l) => /connection refused/.test(l));

// ================================================================ connections

describe('--max_connections_per_ip=3', () => {
  const fx = useRoomcastd(['--limit_private_addresses', '--max_connections_per_ip=3']);

  it('refuses the 4th session from 127.0.0.1 (polling 503 JSON, WebSocket refused, socket.io-client connect_error), counts and logs once, admits again after a close', async () => {
    assert.deepEqual(await allRefusals(fx.port), { connections: 0, handshake_rate: 0, client_event_rate: 0, emit_size: 0 });
    const sids = [];
    for (let i = 0; i < 3; i += 1) sids.push(assertAdmitted(await handshake(fx.port), `handshake ${i + 1}`));

    const body = assertRefused(await handshake(fx.port), /too many connections/i, '4th handshake');
    assert.match(body.message, /address/i, `per-address limit named: ${JSON.stringify(body)}`);
    const err = await connectError(fx.url(), { transports: ['websocket'] });
    assert.ok(err instanceof Error, `socket.io-client (websocket only) gets a connect_error: ${err}`);
    await assertWsRefused(fx.port);
    assert.equal(await refusals(fx.port, 'connections'), 3, 'three refusals counted as limit="connections"');
    assert.equal(await refusals(fx.port, 'handshake_rate'), 0);

    // Another address (::1) has its own allowance.
    const v6 = assertAdmitted(await handshake(fx.port, { host: '::1' }), 'handshake from ::1');

    // Three refusals within the log interval: one log line, not three.
    assert.equal(refusalLogLines(fx.server).length, 1, `logged once per interval:\n${fx.server.output()}`);

    // One polling session closes: a new one is admitted, then refused again.
    await closePolling(fx.port, sids.shift());
    await sessionsOpen(fx.port, 3);
    sids.push(assertAdmitted(await handshake(fx.port), 'handshake after a close'));
    assertRefused(await handshake(fx.port), /too many connections/i, 'handshake over the limit again');
    assert.equal(await refusals(fx.port, 'connections'), 4);

    // A slot freed by a polling close admits a WebSocket socket.io client;
    // its own close frees the slot again.
    await closePolling(fx.port, sids.shift());
    await sessionsOpen(fx.port, 3);
    const socket = await connect(fx.url(), { transports: ['websocket'] });
    assert.ok(socket.connected);
    assertRefused(await handshake(fx.port), /too many connections/i, 'handshake while the WebSocket client holds the slot');
    socket.close();
    await sessionsOpen(fx.port, 3);
    sids.push(assertAdmitted(await handshake(fx.port), 'handshake after the WebSocket client left'));
    assert.equal(await refusals(fx.port, 'connections'), 5);
    for (const sid of [...sids, v6]) await closePolling(fx.port, sid);
  });
});

describe('--max_connections=2 (global)', () => {
  const fx = useRoomcastd(['--max_connections=2', '--max_connections_per_ip=0']);

  it('refuses the 3rd session from any address, counts it, admits again after a close', async () => {
    const first = assertAdmitted(await handshake(fx.port), 'handshake from 127.0.0.1');
    const second = assertAdmitted(await handshake(fx.port, { host: '::1' }), 'handshake from ::1');

    assertRefused(await handshake(fx.port), /too many connections/i, '3rd handshake from 127.0.0.1');
    assertRefused(await handshake(fx.port, { host: '::1' }), /too many connections/i, '3rd handshake from ::1');
    const err = await connectError(fx.url(), { transports: ['websocket'] });
    assert.ok(err instanceof Error, `socket.io-client (websocket only) gets a connect_error: ${err}`);
    await assertWsRefused(fx.port, { host: '::1' });
    assert.equal(await refusals(fx.port, 'connections'), 4, 'four refusals counted as limit="connections"');
    assert.equal(refusalLogLines(fx.server).length, 1, `logged once per interval:\n${fx.server.output()}`);

    await closePolling(fx.port, first);
    await sessionsOpen(fx.port, 1);
    const socket = await connect(fx.url('::1'), { transports: ['websocket'] });
    assert.ok(socket.connected, 'a freed slot admits a WebSocket client');
    assertRefused(await handshake(fx.port), /too many connections/i, 'full again');
    socket.close();
    await sessionsOpen(fx.port, 1);
    const third = assertAdmitted(await handshake(fx.port), 'handshake after the WebSocket client left');
    assert.equal(await refusals(fx.port, 'connections'), 5);
    for (const sid of [second, third]) await closePolling(fx.port, sid);
  });
});

describe('--handshakes_per_ip_per_s=2 (bursts of 8)', () => {
  const fx = useRoomcastd(['--limit_private_addresses', '--handshakes_per_ip_per_s=2']);

  it('a burst of 12 handshakes gets 503s past the burst, counted as handshake_rate; after ~1 s new ones pass', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, () => handshake(fx.port)));
    const admitted = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status !== 200);
    const statuses = results.map((r) => r.status).join(',');
    assert.ok(admitted.length >= 8 && admitted.length <= 9, `a burst of 8 (plus at most one refill) admitted: ${statuses}`);
    for (const r of admitted) assertAdmitted(r);
    for (const r of refused) assertRefused(r, /too many new connections/i, 'throttled handshake');
    await assertWsRefused(fx.port);
    const counts = await allRefusals(fx.port);
    assert.equal(counts.handshake_rate, refused.length + 1, `limit="handshake_rate" counts every refusal: ${JSON.stringify(counts)}`);
    assert.equal(counts.connections, 0, `not counted as connections: ${JSON.stringify(counts)}`);
    assert.equal(refusalLogLines(fx.server).length, 1, `logged once per interval:\n${fx.server.output()}`);

    // The rate is per address: ::1 is not throttled by 127.0.0.1's burst.
    assertAdmitted(await handshake(fx.port, { host: '::1' }), 'handshake from ::1 during the burst');

    await sleep(1100);
    assertAdmitted(await handshake(fx.port), '1st handshake a second later');
    const socket = await connect(fx.url(), { transports: ['websocket'] });
    assert.ok(socket.connected, '2nd (a WebSocket socket.io client) a second later');
    socket.close();
    assert.equal(await refusals(fx.port, 'handshake_rate'), refused.length + 1, 'no new refusals');
  });
});

describe('X-Forwarded-For', () => {
  describe('--trusted_proxies=127.0.0.1 --max_connections_per_ip=1', () => {
    const fx = useRoomcastd(['--trusted_proxies=127.0.0.1', '--max_connections_per_ip=1']);
    const xff = (value) => ({ headers: { 'X-Forwarded-For': value } });

    it('different forwarded clients are admitted; the same one twice is refused', async () => {
      assertAdmitted(await handshake(fx.port, xff('203.0.113.1')), 'client 203.0.113.1');
      assertAdmitted(await handshake(fx.port, xff('203.0.113.2')), 'client 203.0.113.2');
      assertAdmitted(await handshake(fx.port, xff('203.0.113.3')), 'client 203.0.113.3');
      assertRefused(await handshake(fx.port, xff('203.0.113.3')), /too many connections/i, 'client 203.0.113.3 again');
      await assertWsRefused(fx.port, xff('203.0.113.1'));
      // The proxy itself (no header) is one more client.
      assertAdmitted(await handshake(fx.port), 'the proxy 127.0.0.1 itself');
      assert.equal(await refusals(fx.port, 'connections'), 2);
    });

    it('the client is the last address the trusted proxies vouch for, not a spoofable left-most one', async () => {
      // 127.0.0.1 is trusted, so the hop before it is the client.
      assertAdmitted(await handshake(fx.port, xff('198.51.100.7, 127.0.0.1')), 'client 198.51.100.7 via two proxies');
      assertRefused(await handshake(fx.port, xff('198.51.100.7')), /too many connections/i, 'client 198.51.100.7 again');
      // A client-supplied left-most entry does not make a new client.
      assertAdmitted(await handshake(fx.port, xff('192.0.2.50')), 'client 192.0.2.50');
      assertRefused(await handshake(fx.port, xff('10.9.9.9, 192.0.2.50')), /too many connections/i, 'client 192.0.2.50 with a spoofed left-most entry');
    });
  });

  describe('without --trusted_proxies', () => {
    const fx = useRoomcastd(['--limit_private_addresses', '--max_connections_per_ip=1']);

    it('X-Forwarded-For is ignored: the second session from 127.0.0.1 is refused whatever it claims', async () => {
      assertAdmitted(await handshake(fx.port, { headers: { 'X-Forwarded-For': '203.0.113.1' } }), 'first');
      assertRefused(await handshake(fx.port, { headers: { 'X-Forwarded-For': '203.0.113.2' } }), /too many connections/i, 'second, other XFF');
      assertRefused(await handshake(fx.port), /too many connections/i, 'second, no XFF');
      await assertWsRefused(fx.port, { headers: { 'X-Forwarded-For': '203.0.113.3' } });
      assert.equal(await refusals(fx.port, 'connections'), 3);
    });
  });
});

describe('--max_connections_per_ip=1: a polling -> WebSocket upgrade is the same session', () => {
  const fx = useRoomcastd(['--limit_private_addresses', '--max_connections_per_ip=1']);

  it('a default socket.io-client (polling, then upgrade) connects and upgrades within one slot', async () => {
    const socket = await fx.connect({});
    await pollUntil(() => socket.io.engine.transport.name === 'websocket', { timeoutMs: 5000, intervalMs: 20, what: 'the upgrade to websocket' });
    assert.deepEqual(await roomsOf(socket), []);
    assert.ok(socket.connected);
    assert.equal(await refusals(fx.port, 'connections'), 0, 'the upgrade is not a new connection');
    assertRefused(await handshake(fx.port), /too many connections/i, 'a second session');
    socket.close();
  });
});

// ================================================================ client events

describe('--client_events_per_s=5 (bursts of 10)', () => {
  const fx = useRoomcastd(['--client_events_per_s=5']);

  it('30 events at once: the burst is answered, the rest get a `limit` ack; counted; the socket stays and works a second later', async () => {
    const socket = await fx.connect({ transports: ['websocket'] });
    const disconnected = [];
    socket.on('disconnect', (reason) => disconnected.push(reason));
    const acks = await Promise.all(Array.from({ length: 30 }, () => emitWithAck(socket, 'rooms')));
    const ok = acks.filter((a) => a && a.ok === true);
    const limited = acks.filter((a) => a && a.ok === false);
    assert.equal(ok.length + limited.length, 30, `every event acked: ${JSON.stringify(acks)}`);
    assert.ok(ok.length >= 10 && ok.length <= 12, `the burst of 10 (plus a refill) answered, got ${ok.length}: ${JSON.stringify(acks)}`);
    for (let i = 0; i < 10; i += 1) assert.deepEqual(acks[i], { ok: true, rooms: [] }, `event ${i} within the burst`);
    for (const a of limited) {
      assert.equal(a.error?.code, 'limit', `limit error ack: ${JSON.stringify(a)}`);
      assert.equal(typeof a.error.message, 'string', JSON.stringify(a));
      assert.notEqual(a.error.message, '');
    }
    assert.equal(await refusals(fx.port, 'client_event_rate'), limited.length, 'limit="client_event_rate" counts each refused event');

    assert.ok(socket.connected, 'still connected after being throttled');
    await sleep(1100);
    assert.deepEqual(await emitWithAck(socket, 'join', 'after-throttle'), { ok: true, rooms: ['after-throttle'] });
    assert.deepEqual(await roomsOf(socket), ['after-throttle']);
    assert.ok(socket.connected);
    assert.deepEqual(disconnected, []);
    assert.equal(await refusals(fx.port, 'client_event_rate'), limited.length, 'no refusals once under the rate');
  });
});

// ================================================================ control plane

describe('--max_emit_bytes=100 --max_batch_size=3', () => {
  const fx = useRoomcastd(['--max_emit_bytes=100', '--max_batch_size=3']);

  it('POST /v1/emit: data over 100 bytes is INVALID_ARGUMENT naming the limit; 100 bytes is emitted', async (t) => {
    const socket = await fx.connect({ transports: ['websocket'], auth: { rooms: ['big'] } });
    t.after(() => socket.close());
    const before = await refusals(fx.port, 'emit_size');

    const large = await api(fx.port, 'POST', '/v1/emit', { room: 'big', event: 'e', data: 'x'.repeat(200) });
    assertRpcError(large, 400, { code: Code.INVALID_ARGUMENT, message: /\b100\b/ });
    assert.match(large.json.message, /limit|bytes/i, show(large));
    // 99 characters: a 101-byte JSON string, one over.
    const justOver = await api(fx.port, 'POST', '/v1/emit', { room: 'big', event: 'e', data: 'y'.repeat(99) });
    assertRpcError(justOver, 400, { code: Code.INVALID_ARGUMENT, message: /\b100\b/ });

    // 98 characters: a 100-byte JSON string, at the limit.
    const got = waitFor(socket, 'e');
    const fits = await api(fx.port, 'POST', '/v1/emit', { room: 'big', event: 'e', data: 'z'.repeat(98) });
    assertEmitResponse(okJson(fits), { recipients: 1 });
    assert.equal(await got, 'z'.repeat(98));
    const small = await api(fx.port, 'POST', '/v1/emit', { room: 'big', event: 'e', data: { n: 1 } });
    assertEmitResponse(okJson(small), { recipients: 1 });

    assert.equal(await refusals(fx.port, 'emit_size'), before + 2, 'limit="emit_size" counts the oversized emits');
  });

  it('POST /v1/emit:batch: 4 emits is INVALID_ARGUMENT naming the limit; 3 are emitted', async () => {
    const before = await refusals(fx.port, 'emit_size');
    const emit = (i) => ({ room: 'batch-room', event: 'b', data: i });
    const four = await api(fx.port, 'POST', '/v1/emit:batch', { emits: [0, 1, 2, 3].map(emit) });
    assertRpcError(four, 400, { code: Code.INVALID_ARGUMENT, message: /\b3\b/ });

    const three = await api(fx.port, 'POST', '/v1/emit:batch', { emits: [0, 1, 2].map(emit) });
    const body = okJson(three);
    assert.equal(body.results?.length, 3, show(three));
    for (const r of body.results) assertEmitResponse(r.emitted, { recipients: 0 });
    assert.equal(await refusals(fx.port, 'emit_size'), before + 1, 'the refused batch is counted as limit="emit_size"');

    // An oversized emit inside an accepted batch fails on its own.
    const mixed = await api(fx.port, 'POST', '/v1/emit:batch', { emits: [emit(0), { room: 'batch-room', event: 'b', data: 'x'.repeat(200) }] });
    const mixedBody = okJson(mixed);
    assertEmitResponse(mixedBody.results[0].emitted, { recipients: 0 });
    assert.equal(mixedBody.results[1].error?.code, 'INVALID_ARGUMENT', show(mixed));
    assert.match(mixedBody.results[1].error.message, /\b100\b/, show(mixed));
    assert.equal(await refusals(fx.port, 'emit_size'), before + 2);
  });
});

// ================================================================ room policy

const kSecret = 's';
const sign = (claims) => jwt.sign(claims, kSecret, { algorithm: 'HS256', expiresIn: 600 });

/** Asserts a refused join ack: {"ok":false,"error":{"code":"forbidden","room":room,"message":...}}. */
function assertForbidden(ack, room) {
  assert.equal(ack?.ok, false, `join refused: ${JSON.stringify(ack)}`);
  assert.equal(ack.error?.code, 'forbidden', `forbidden: ${JSON.stringify(ack)}`);
  assert.equal(ack.error.room, room, `names the room: ${JSON.stringify(ack)}`);
  assert.equal(typeof ack.error.message, 'string', JSON.stringify(ack));
  assert.notEqual(ack.error.message, '', JSON.stringify(ack));
}

describe('room policy: --jwt_secret, default policy, token rooms claim, public namespace, control plane', () => {
  const fx = useRoomcastd(['--jwt_secret=s', '--namespaces=/,/public', '--public_namespaces=/public']);
  const client = async (t, claims, { auth = {}, nsp } = {}) => {
    const socket = await fx.connect({ transports: ['websocket'], auth: { ...(claims ? { token: sign(claims) } : {}), ...auth } }, { nsp });
    t.after(() => socket.close());
    return socket;
  };

  it('default policy: a user may join only user:<own sub>', async (t) => {
    const socket = await client(t, { sub: 'alice' });
    assert.deepEqual(await roomsOf(socket), ['user:alice']);
    const before = await forbiddenJoins(fx.port);
    assertForbidden(await emitWithAck(socket, 'join', 'other'), 'other');
    assertForbidden(await emitWithAck(socket, 'join', 'user:bob'), 'user:bob');
    assertForbidden(await emitWithAck(socket, 'join', 'user:alice2'), 'user:alice2');
    assert.deepEqual(await emitWithAck(socket, 'join', 'user:alice'), { ok: true, rooms: ['user:alice'] });
    assert.deepEqual(await roomsOf(socket), ['user:alice']);
    assert.equal(await forbiddenJoins(fx.port), before + 3, 'roomcast_joins_refused_total{reason="forbidden"} counts each refusal');
  });

  it('a claim value is not a pattern: sub "ali*" or "*" may not join user:alice', async (t) => {
    // `user:{sub}` is one exact room; a `*` inside the sub must not turn it
    // into a prefix pattern over other users' rooms.
    for (const sub of ['ali*', '*']) {
      const socket = await client(t, { sub });
      assert.deepEqual(await roomsOf(socket), [`user:${sub}`]);
      assertForbidden(await emitWithAck(socket, 'join', 'user:alice'), 'user:alice');
      assert.deepEqual(await roomsOf(socket), [`user:${sub}`], `sub ${JSON.stringify(sub)} stays out of user:alice`);
    }
  });

  it('a `rooms` claim ["project:42:*","lobby"] allows project:42:a and lobby, not project:43:a', async (t) => {
    const socket = await client(t, { sub: 'u42', rooms: ['project:42:*', 'lobby'] });
    const before = await forbiddenJoins(fx.port);
    assert.deepEqual(await emitWithAck(socket, 'join', 'project:42:a'), { ok: true, rooms: ['project:42:a', 'user:u42'] });
    assert.deepEqual(await emitWithAck(socket, 'join', 'lobby'), { ok: true, rooms: ['lobby', 'project:42:a', 'user:u42'] });
    assertForbidden(await emitWithAck(socket, 'join', 'project:43:a'), 'project:43:a');
    assertForbidden(await emitWithAck(socket, 'join', 'project:420:a'), 'project:420:a');
    assertForbidden(await emitWithAck(socket, 'join', 'lobby2'), 'lobby2');
    assertForbidden(await emitWithAck(socket, 'join', 'other'), 'other');
    assert.deepEqual(await roomsOf(socket), ['lobby', 'project:42:a', 'user:u42']);
    assert.equal(await forbiddenJoins(fx.port), before + 4);
  });

  it('a list join with one forbidden room is all-or-nothing', async (t) => {
    const socket = await client(t, { sub: 'lister', rooms: ['project:42:*', 'lobby'] });
    const before = await forbiddenJoins(fx.port);
    assertForbidden(await emitWithAck(socket, 'join', ['lobby', 'project:43:a', 'project:42:b']), 'project:43:a');
    assert.deepEqual(await roomsOf(socket), ['user:lister'], 'no room of the refused list was joined');
    assert.deepEqual(await emitWithAck(socket, 'join', ['lobby', 'project:42:b']), { ok: true, rooms: ['lobby', 'project:42:b', 'user:lister'] });
    assert.equal(await forbiddenJoins(fx.port), before + 1);
  });

  it('CONNECT with auth.rooms naming a forbidden room is a connect_error naming the room', async (t) => {
    const before = await forbiddenJoins(fx.port);
    const err = await connectError(fx.url(), { transports: ['websocket'], auth: { token: sign({ sub: 'carol', rooms: ['lobby'] }), rooms: ['lobby', 'secret-room'] } });
    assert.match(err.message, /secret-room/, `connect_error names the room: ${err.message}`);
    assert.equal(await forbiddenJoins(fx.port), before + 1, 'the refused CONNECT is counted');
    // Allowed rooms at CONNECT are joined.
    const socket = await client(t, { sub: 'carol', rooms: ['lobby'] }, { auth: { rooms: ['lobby', 'user:carol'] } });
    assert.deepEqual(await roomsOf(socket), ['lobby', 'user:carol']);
  });

  it('the control plane places a socket in any room (POST /v1/rooms:join)', async (t) => {
    const socket = await client(t, { sub: 'dave' });
    assertForbidden(await emitWithAck(socket, 'join', 'anything'), 'anything');
    const res = await api(fx.port, 'POST', '/v1/rooms:join', { sockets: { socketId: socket.id }, rooms: ['anything'] });
    assert.deepEqual(okJson(res), { sockets: '1' }, show(res));
    assert.deepEqual(await roomsOf(socket), ['anything', 'user:dave']);
    const got = waitFor(socket, 'placed');
    assertEmitResponse(okJson(await api(fx.port, 'POST', '/v1/emit', { room: 'anything', event: 'placed', data: 'hi' })), { recipients: 1 });
    assert.equal(await got, 'hi');
  });

  it('a public namespace lets an anonymous socket join anything; "/" still needs a token', async (t) => {
    const before = await forbiddenJoins(fx.port);
    const socket = await client(t, null, { nsp: '/public' });
    assert.deepEqual(await emitWithAck(socket, 'join', ['anything', 'user:alice', 'project:43:a']), { ok: true, rooms: ['anything', 'project:43:a', 'user:alice'] });
    const withRooms = await client(t, null, { nsp: '/public', auth: { rooms: ['secret-room'] } });
    assert.deepEqual(await roomsOf(withRooms), ['secret-room']);
    assert.equal(await forbiddenJoins(fx.port), before, 'nothing refused in a public namespace');
    const err = await connectError(fx.url(), { transports: ['websocket'] });
    assert.ok(err instanceof Error, `anonymous CONNECT to "/" refused: ${err}`);
  });
});

describe('room policy file (--room_policy)', () => {
  const policyFile = writeTmp('policy.json', JSON.stringify({ allow: ['org:{claims.org}:*', 'public:*'] }));
  const fx = useRoomcastd(['--jwt_secret=s', `--room_policy=${policyFile}`]);
  const client = async (t, claims, auth = {}) => {
    const socket = await fx.connect({ transports: ['websocket'], auth: { token: sign(claims), ...auth } });
    t.after(() => socket.close());
    return socket;
  };

  it('{"allow":["org:{claims.org}:*","public:*"]}: org:acme:x for org "acme", not org:other:x; public:anything', async (t) => {
    const socket = await client(t, { sub: 'erin', org: 'acme' });
    const before = await forbiddenJoins(fx.port);
    assert.deepEqual(await emitWithAck(socket, 'join', 'org:acme:x'), { ok: true, rooms: ['org:acme:x', 'user:erin'] });
    assertForbidden(await emitWithAck(socket, 'join', 'org:other:x'), 'org:other:x');
    assertForbidden(await emitWithAck(socket, 'join', 'org:acmex:y'), 'org:acmex:y');
    assert.deepEqual(await emitWithAck(socket, 'join', 'public:anything'), { ok: true, rooms: ['org:acme:x', 'public:anything', 'user:erin'] });
    assertForbidden(await emitWithAck(socket, 'join', 'elsewhere'), 'elsewhere');
    assert.equal(await forbiddenJoins(fx.port), before + 3);
  });

  it('a template whose claim is missing allows nothing; the token rooms claim still adds rooms', async (t) => {
    const socket = await client(t, { sub: 'frank', rooms: ['extra'] });
    assertForbidden(await emitWithAck(socket, 'join', 'org::x'), 'org::x');
    assertForbidden(await emitWithAck(socket, 'join', 'org:acme:x'), 'org:acme:x');
    assert.deepEqual(await emitWithAck(socket, 'join', ['extra', 'public:p']), { ok: true, rooms: ['extra', 'public:p', 'user:frank'] });
  });

  it('all-or-nothing lists and CONNECT auth.rooms follow the file too', async (t) => {
    const socket = await client(t, { sub: 'gina', org: 'acme' });
    assertForbidden(await emitWithAck(socket, 'join', ['public:a', 'org:acme:b', 'org:other:c']), 'org:other:c');
    assert.deepEqual(await roomsOf(socket), ['user:gina']);
    const err = await connectError(fx.url(), { transports: ['websocket'], auth: { token: sign({ sub: 'gina', org: 'acme' }), rooms: ['org:acme:a', 'org:other:a'] } });
    assert.match(err.message, /org:other:a/, `connect_error names the room: ${err.message}`);
    const ok = await client(t, { sub: 'gina', org: 'acme' }, { rooms: ['org:acme:a', 'public:z'] });
    assert.deepEqual(await roomsOf(ok), ['org:acme:a', 'public:z', 'user:gina']);
  });
});

describe('a bad --room_policy file stops roomcastd', () => {
  const cases = {
    'not JSON': 'this is { not json',
    'no "allow"': JSON.stringify({ rooms: ['a:*'] }),
    '"allow" not a list': JSON.stringify({ allow: 'a:*' }),
    'a pattern that is not a string': JSON.stringify({ allow: ['a:*', 7] }),
    'an empty file': '',
  };
  for (const [name, contents] of Object.entries(cases)) {
    it(`${name}: exits non-zero naming --room_policy`, async () => {
      const file = writeTmp(`bad-${name.replace(/\W+/g, '-')}.json`, contents);
      const res = await runToExit(['--port=0', '--grpc_port=0', '--jwt_secret=s', `--room_policy=${file}`], { timeoutMs: 5000 });
      assert.equal(res.timedOut, false, `exited by itself:\n${res.stdout}${res.stderr}`);
      assert.notEqual(res.code, 0, `non-zero exit:\n${res.stdout}${res.stderr}`);
      assert.equal(res.signal, null, `no crash:\n${res.stdout}${res.stderr}`);
      assert.match(res.stdout + res.stderr, /--room_policy/, `names --room_policy:\n${res.stdout}${res.stderr}`);
      assert.doesNotMatch(res.stdout + res.stderr, /listening/, 'never listened');
    });
  }

  it('a missing file: exits non-zero naming --room_policy', async () => {
    const res = await runToExit(['--port=0', '--grpc_port=0', '--jwt_secret=s', `--room_policy=${path.join(tmpDir, 'missing.json')}`], { timeoutMs: 5000 });
    assert.equal(res.timedOut, false);
    assert.notEqual(res.code, 0, `non-zero exit:\n${res.stdout}${res.stderr}`);
    assert.match(res.stdout + res.stderr, /--room_policy/, `${res.stdout}${res.stderr}`);
  });
});
