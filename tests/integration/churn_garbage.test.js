// Churn and garbage, bounded: for ROOMCAST_CHURN_MS (default 6000 ms) several
// workers connect and disconnect real socket.io-client sockets over every
// transport mode (cleanly, abruptly, mid-upgrade), feed raw Engine.IO /
// Socket.IO / WebSocket / HTTP garbage, and abandon sessions so that the
// connect timeout and the heartbeat deadline fire, while a service emits to
// the same rooms through the HTTP control API. Afterwards the server must have
// forgotten every session and room, still serve a new client, and (under a
// sanitizer) have printed no report.
//
// Checked afterwards: /api/socket/status reports no connection and no room,
// /metrics no open session or socket; every abandoned session was ended by the
// server within its deadline; /healthz answers, the process still runs, a new
// client (WebSocket, then polling) connects, joins and receives an emit; no
// well-formed request failed; the workload reached its minimum counts; no
// sanitizer report, and SIGTERM exits 0.
//
// Every choice comes from a seeded PRNG: the seed is printed, and
// ROOMCAST_CHURN_SEED=<seed> replays the same choices (not the same timing).
// ROOMCAST_TIME_SCALE multiplies every timeout and the server's timers
// (default 1, 3 for a sanitizer build directory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { buildDir, startRoomcastd } from '../support/process.js';
import { stopServer } from '../support/fixtures.js';
import { RS, RawWs, eioPath, parseOpen, request } from '../support/raw.js';
import { api, parsePrometheus, pollUntil, sampleValue, show } from '../support/control.js';
import { baseUrl, makeSocket, sleep, withTimeout } from '../support/sio.js';

const kSanitized = /asan|sanitiz/i.test(path.basename(buildDir)) || Boolean(process.env.ROOMCAST_SANITIZED);
const kScale = Number(process.env.ROOMCAST_TIME_SCALE) > 0 ? Number(process.env.ROOMCAST_TIME_SCALE) : kSanitized ? 3 : 1;
const scaled = (n) => Math.round(n * kScale);

const kDurationMs = Number(process.env.ROOMCAST_CHURN_MS) > 0 ? Number(process.env.ROOMCAST_CHURN_MS) : 6000;
const kWorkers = 6;
const kMaxIterations = 400; // per worker: a hard cap whatever the duration
const kSeed = process.env.ROOMCAST_CHURN_SEED !== undefined ? Number(process.env.ROOMCAST_CHURN_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;

// Short server timers, so that they fire many times within the run.
const kPingInterval = scaled(800);
const kPingTimeout = scaled(700);
const kConnectTimeout = scaled(1000);
const kUpgradeTimeout = scaled(1000);
// Small, so that "over the limit" frames and bodies stay cheap.
const kMaxBuffer = 100000;
// The latest a session nobody talks to may live: whichever of the connect
// timeout and the heartbeat deadline comes first, so at most the later one.
const kAbandonDeadline = Math.max(kConnectTimeout, kPingInterval + kPingTimeout, kUpgradeTimeout);
const kStep = scaled(3000); // any single network step
const kSlack = scaled(1500); // timer and scheduling slack on top of server deadlines

const kFlags = [
  '--enable_client_broadcast',
  `--ping_interval_ms=${kPingInterval}`,
  `--ping_timeout_ms=${kPingTimeout}`,
  `--connect_timeout_ms=${kConnectTimeout}`,
  `--upgrade_timeout_ms=${kUpgradeTimeout}`,
  `--max_http_buffer_size=${kMaxBuffer}`,
  // Churn from one address: the per-address limits have their own tests.
  '--handshakes_per_ip_per_s=0',
  '--max_connections_per_ip=0',
  '--drain_grace_ms=0',
];
const kHosts = ['127.0.0.1', '::1'];
const kRooms = Array.from({ length: 8 }, (_, i) => `churn-${i}`);
const kSanitizerReport = /AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:/;

// ---------------------------------------------------------------------------
// Seeded PRNG (mulberry32) and helpers on it.

function makeRng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick: (list) => list[Math.floor(next() * list.length)],
    /** Picks a key of { key: weight }. */
    weighted(table) {
      const entries = Object.entries(table).filter(([, w]) => w > 0);
      let r = next() * entries.reduce((sum, [, w]) => sum + w, 0);
      for (const [key, w] of entries) {
        r -= w;
        if (r < 0) return key;
      }
      return entries.at(-1)[0];
    },
    /** `n` distinct elements of `list`. */
    sample(list, n) {
      const copy = [...list];
      const out = [];
      while (out.length < n && copy.length) out.push(copy.splice(Math.floor(next() * copy.length), 1)[0]);
      return out;
    },
    bytes: (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256))),
    /** Printable ASCII of length 1..n. */
    text(n) {
      const len = 1 + Math.floor(next() * n);
      return Array.from({ length: len }, () => String.fromCharCode(32 + Math.floor(next() * 95))).join('');
    },
  };
  return rng;
}

// ---------------------------------------------------------------------------
// Bookkeeping: counters, failures that should not happen, everything to close.

function makeStats() {
  const counts = {};
  const unexpected = [];
  return {
    counts,
    unexpected,
    bump(name, n = 1) {
      counts[name] = (counts[name] ?? 0) + n;
    },
    /** Something a correct server would not do: reported, and fails the test. */
    fail(what, err) {
      counts.unexpected = (counts.unexpected ?? 0) + 1;
      if (unexpected.length < 30) unexpected.push(`${what}: ${err?.message ?? err}`);
    },
    /** An error on a garbage path: expected, counted by kind. */
    swallow(kind) {
      counts.swallowedErrors = (counts.swallowedErrors ?? 0) + 1;
      const key = `swallowed:${kind}`;
      counts[key] = (counts[key] ?? 0) + 1;
    },
  };
}

/** Resolves { res } or { err }: a cut connection is an outcome, not a failure. */
const settle = (promise) => promise.then((res) => ({ res }), (err) => ({ err }));

/** Resolves the first argument of the next `event` on `emitter` for which `match` holds. */
function waitForMatch(emitter, event, match, ms, what = event) {
  let handler;
  const got = new Promise((resolve) => {
    handler = (first) => {
      if (match(first)) resolve(first);
    };
    emitter.on(event, handler);
  });
  return withTimeout(got, ms, what).finally(() => emitter.off(event, handler));
}

// ---------------------------------------------------------------------------
// Raw connections with our own (scaled) timeouts and error handlers: the
// garbage paths make the server cut them in every possible state.

/** A RawWs to `host`, opened; `query` is appended to the Engine.IO query. */
async function openRaw(port, host, query = '') {
  const h = host.includes(':') ? `[${host}]` : host;
  const raw = new RawWs(`ws://${h}:${port}${eioPath(`transport=websocket${query ? `&${query}` : ''}`)}`);
  raw.ws.on('error', () => {}); // after the handshake; RawWs only listens once
  try {
    await withTimeout(raw.opened, kStep, `WebSocket open to ${raw.url}`);
  } catch (err) {
    raw.close();
    throw err;
  }
  return raw;
}

/** Sends one frame: a string as text, a Buffer as binary, { text: Buffer } as a text frame of raw bytes. */
function sendFrame(raw, frame) {
  if (frame && typeof frame === 'object' && !Buffer.isBuffer(frame)) raw.ws.send(frame.text, { binary: false });
  else raw.ws.send(frame);
}

/** Destroys the TCP connection under a RawWs without a close frame. */
function vanish(raw) {
  raw.ws._socket?.destroy();
}

/** A raw TCP connection: resolves { socket, data() } once connected. */
function tcpConnect(port, host) {
  return withTimeout(new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    let data = Buffer.alloc(0);
    socket.on('data', (c) => (data = Buffer.concat([data, c])));
    socket.once('connect', () => resolve({ socket, data: () => data }));
    socket.once('error', reject);
    socket.on('error', () => {});
  }), kStep, `TCP connect to ${host}:${port}`);
}

/** Resolves true once `socket` is closed by the peer (or errors), false after `ms`. */
function tcpClosed(socket, ms) {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    socket.once('close', done);
    socket.once('end', done);
  });
}

/** A client WebSocket frame (masked unless told otherwise). */
function wsFrame(opcode, payload, { fin = true, rsv = 0, mask = true, length } = {}) {
  const len = length ?? payload.length;
  const head = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const maskBit = mask ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (len < 126) head.push(maskBit | len);
  else if (len < 65536) {
    head.push(maskBit | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(len);
  } else {
    head.push(maskBit | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(BigInt(len));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, payload]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i % 4]));
  return Buffer.concat([Buffer.from(head), ext, key, masked]);
}

const kWsUpgradeRequest = (host) =>
  `GET ${eioPath('transport=websocket')} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

// ---------------------------------------------------------------------------
// Garbage catalogues. Each entry: [kind, (rng) => frames, mustClose]. A
// mustClose kind is documented (README, bad_input.test.js) to close the
// connection, so a server that keeps it open is a failure; the others may
// close it or answer an error, both are fine.

const kPlaceholders = (n) => JSON.stringify(Array.from({ length: n }, (_, num) => ({ _placeholder: true, num })));

const kWsGarbage = [
  ['event payload not an array', () => ['42{"not":"an array"}']],
  ['invalid Socket.IO JSON 42abc', () => ['42abc'], true],
  ['unknown Socket.IO type 4x', () => ['4x']],
  ['Socket.IO type 9', () => ['49']],
  ['Engine.IO type 9', () => ['9']],
  ['invalid Engine.IO packet', () => ['abc'], true],
  ['unannounced binary frame', (rng) => [rng.bytes(rng.int(1, 64))]],
  ['placeholder then text', () => ['451-["e",{"_placeholder":true,"num":0}]', '42["instead-of-binary"]']],
  ['placeholder with a bad num', (rng) => ['451-["e",{"_placeholder":true,"num":7}]', rng.bytes(4)]],
  ['announced more attachments than sent', () => ['453-["e",{"_placeholder":true,"num":0}]', Buffer.from([1])]],
  ['too many attachments', () => [`4511-["e",${kPlaceholders(11).slice(1, -1)}]`]],
  ['client ping (v4 protocol error)', () => ['2']],
  ['random text', (rng) => [rng.text(200)]],
  ['random bytes as text', (rng) => [{ text: rng.bytes(rng.int(1, 64)) }]],
  ['invalid UTF-8 text frame', () => [{ text: Buffer.from([0x34, 0x32, 0xff, 0xfe, 0xc0]) }]],
  ['empty frame', () => ['']],
  ['big text under the limit', () => [`42["big","${'x'.repeat(kMaxBuffer / 2)}"]`]],
  ['text over the limit', () => [`42["big","${'x'.repeat(kMaxBuffer + 10)}"]`], true],
  ['binary over the limit', () => ['451-["bin",{"_placeholder":true,"num":0}]', Buffer.alloc(kMaxBuffer + 10, 7)], true],
  // Only survival matters here (no stack overflow): roomcastd closes the
  // connection past 32 levels (boost.json's default max_depth).
  ['deeply nested JSON', (rng) => {
    const depth = rng.int(1000, 20000);
    return [`42["e",${'['.repeat(depth)}${']'.repeat(depth)}]`];
  }],
  ['odd JSON values', () => ['42["e",1e999999]', '42["e","\\ud800"]', '42["e",NaN]', '42["e",{"a":1,"a":2}]', '42[]', '42[1]', '42[null]']],
  ['ack id overflow', () => ['4299999999999999999999["x"]', '43-1["x"]']],
  ['CONNECT to an unknown namespace', () => ['40/nope,']],
  ['namespace without comma', () => ['40/nope', '42/nope["x"]']],
  ['second CONNECT', () => ['40', '40{"rooms":["churn-0"]}']],
  ['event to a namespace not connected', () => ['42/nope,["x"]', '421/nope,["join","r"]']],
  ['DISCONNECT then events', () => ['41', '42["after-disconnect"]', '421["join","churn-1"]']],
  ['upgrade packet on a WebSocket session', () => ['5']],
  ['noop and stray pongs', () => ['6', '3', '3probe']],
  ['join with bad arguments', () => ['421["join",42]', `422["join","${'r'.repeat(300)}"]`, '423["join",[]]', '424["join"]', '425["join",[""]]', '426["join",{"room":"x"}]']],
  ['ack for an id never sent', () => ['43999["x"]', '46999-[{"_placeholder":true,"num":0}]']],
  ['broadcast with bad requests', () => ['421["broadcast",{}]', '422["broadcast",{"room":"churn-2"}]', '423["broadcast","x"]', '424["broadcast",{"room":"churn-2","event":"join"}]']],
];

/** Pre-CONNECT garbage: a session that never sent `40`. */
const kPreConnectGarbage = [
  ['event before CONNECT', () => ['42["early"]', '421["join","churn-3"]']],
  ['binary before CONNECT', (rng) => [rng.bytes(8)]],
  ['CONNECT with invalid auth', () => ['40{"rooms":42}', '40{"rooms":[""]}', '40not-json']],
  ['CONNECT with a huge auth payload', () => [`40{"rooms":${JSON.stringify(Array.from({ length: 2000 }, (_, i) => `r${i}`))}}`]],
  ['Engine.IO close then more', () => ['1', '40']],
];

/** Polling POST bodies that are not a valid payload (or not valid Socket.IO in one). */
const kPollBodies = [
  (rng) => rng.text(100),
  () => 'abc',
  () => '42abc',
  () => '4x',
  () => `4${RS}${RS}`,
  () => RS,
  () => '',
  () => 'bAAAA!!',
  () => 'b',
  () => '42{"not":"an array"}',
  () => '2',
  () => '9',
  () => `40${RS}451-["e",{"_placeholder":true,"num":0}]${RS}42["x"]`,
  () => `5${RS}6${RS}3probe`,
];

// ---------------------------------------------------------------------------

test(`churn and garbage for ${kDurationMs} ms: the server forgets every session and room and keeps serving`, { timeout: kDurationMs + scaled(120000) }, async (t) => {
  console.log(`churn_garbage: seed ${kSeed} (replay with ROOMCAST_CHURN_SEED=${kSeed}), ${kDurationMs} ms, ${kWorkers} workers, time scale ${kScale}`);
  t.diagnostic(`seed ${kSeed}`);
  const server = await startRoomcastd(kFlags);
  t.after(() => stopServer(server));
  const { port } = server;
  const stats = makeStats();
  const live = new Set(); // everything to close at the end: { close() }
  const abandoned = []; // sessions left for the server to expire: { kind, createdAt, closedAt() or gone() }
  const track = (closer) => {
    live.add(closer);
    return closer;
  };
  const endAt = Date.now() + kDurationMs;
  const running = () => Date.now() < endAt;

  // --- the service: emits to random rooms through the HTTP control API -----

  async function serviceLoop() {
    const rng = makeRng(kSeed ^ 0x5e471ce);
    let seq = 0;
    while (running()) {
      if (rng.chance(0.05)) {
        // Invalid emits: answered with a 4xx, never a 5xx or a hang.
        const body = rng.pick([{ room: 'churn-0' }, { room: 'churn-0', event: 42 }, { room: 'churn-0', event: '' }, '{"room":', '[]', { room: 'churn-0', event: 'x', nope: 1 }]);
        const { res, err } = await settle(api(port, 'POST', '/api/socket/emit', body, { timeoutMs: kStep }));
        if (err || res.status < 400 || res.status >= 500) stats.fail(`invalid emit ${JSON.stringify(body)}`, err ?? show(res));
        else stats.bump('invalidEmits');
      } else if (rng.chance(0.03)) {
        const { res, err } = await settle(api(port, 'GET', '/api/socket/status', undefined, { timeoutMs: kStep }));
        if (err || res.status !== 200) stats.fail('GET /api/socket/status during churn', err ?? show(res));
        else stats.bump('statusCalls');
      } else {
        // Mostly one room; sometimes several, or (no room) the whole namespace.
        const target = rng.weighted({ room: 18, rooms: 1, all: 1 });
        const room = target === 'room' ? rng.pick(kRooms) : undefined;
        const rooms = target === 'rooms' ? rng.sample(kRooms, 3) : undefined;
        const volatile = rng.chance(0.1);
        const body = { room, rooms, event: 'tick', data: { seq, pad: 'p'.repeat(rng.int(0, 2000)) }, ...(volatile ? { volatile } : {}) };
        seq += 1;
        const { res, err } = await settle(api(port, 'POST', '/api/socket/emit', body, { timeoutMs: kStep }));
        if (err || res.status !== 200 || typeof res.json?.recipients !== 'string') stats.fail(`emit ${JSON.stringify({ room, rooms })}`, err ?? show(res));
        else {
          stats.bump('emits');
          stats.bump('emitRecipients', Number(res.json.recipients));
        }
      }
      await sleep(rng.int(2, 15));
    }
  }

  // --- socket.io-client sockets: every transport mode, every way of leaving --

  /** Emits with an ack, bounded by kStep. */
  const ack = (socket, event, ...args) => socket.timeout(kStep).emitWithAck(event, ...args);

  /** Connects `socket`; rejects with the connect_error or after `ms`. */
  function connectSocket(socket, ms = kStep + 1000) {
    const result = new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      // The transport's own words (an HTTP status, a socket error) say more than "xhr poll error".
      socket.once('connect_error', (err) => {
        const cause = err.description?.message ?? err.description;
        reject(cause === undefined ? err : new Error(`${err.message} (${cause})`));
      });
    });
    socket.connect();
    return withTimeout(result, ms, 'socket.io-client connect');
  }

  /**
   * Leaves without a word to the server: the TCP connection under the
   * WebSocket is destroyed; on polling nothing more is written and the
   * connections of the socket's own agent (the GET in flight, if any) are
   * destroyed, so the server must notice by itself. (Not xhr.abort():
   * xmlhttprequest-ssl 2.1.2 then throws from its error handler.)
   */
  function silencePolling(socket) {
    const transport = socket.io.engine?.transport;
    if (transport?.name === 'polling') {
      transport.doWrite = () => {};
      transport.doClose = () => {};
      transport.doPoll = () => {};
    }
    socket.io.opts.agent?.destroy();
  }

  function dropAbruptly(socket) {
    const transport = socket.io.engine?.transport;
    if (transport?.name === 'websocket') transport.ws?._socket?.destroy();
    else silencePolling(socket);
  }

  /**
   * Breaks the upgrade of a polling + WebSocket socket at a random point:
   * right after the probe's pong (before `5`), or right after `5`; and either
   * the probe only, or the probe and the polling transport.
   */
  function breakUpgrade(socket, rng, hit) {
    const when = rng.pick(['upgrading', 'upgrade']);
    const everything = rng.chance(0.5);
    socket.io.once('open', () => {
      socket.io.engine.once(when, (probe) => {
        hit(`${when}${everything ? '+polling' : ''}`);
        if (everything) silencePolling(socket);
        probe.ws?._socket?.destroy();
      });
    });
  }

  async function sioClient(w, i, rng) {
    const mode = rng.pick(['websocket', 'polling', 'upgrade']);
    const host = rng.pick(kHosts);
    const ending = rng.weighted({ clean: 5, abrupt: 3, engineClose: 1, midUpgrade: mode === 'upgrade' ? 3 : 0 });
    const transports = { websocket: ['websocket'], polling: ['polling'], upgrade: ['polling', 'websocket'] }[mode];
    // Its own agent (no keep-alive): the polling connections dropAbruptly() can cut.
    const agent = new http.Agent({ keepAlive: false });
    const socket = makeSocket(baseUrl(port, host), { transports, timeout: kStep, agent });
    track(socket);
    socket.on('tick', () => stats.bump('ticksReceived'));
    const what = `socket.io-client ${mode} over ${host} (worker ${w}, iteration ${i})`;

    if (ending === 'midUpgrade') {
      // Everything may fail here, by design; the server must cope.
      let hitResolve;
      const hitP = new Promise((resolve) => (hitResolve = resolve));
      breakUpgrade(socket, rng, (how) => {
        stats.bump(`midUpgradeDrops:${how}`);
        hitResolve();
      });
      // Short waits: the break may come before the CONNECT reply, then nothing comes.
      const { err } = await settle(connectSocket(socket, scaled(1500)));
      if (err) stats.swallow('mid-upgrade connect');
      else stats.bump('connects');
      const broke = await settle(withTimeout(hitP, scaled(1500), 'the upgrade to start'));
      if (broke.err) stats.swallow('mid-upgrade: no upgrade seen');
      if (rng.chance(0.5)) {
        const joined = await settle(socket.timeout(scaled(500)).emitWithAck('join', rng.pick(kRooms)));
        if (joined.err) stats.swallow('mid-upgrade join');
      }
      return;
    }

    try {
      await connectSocket(socket);
    } catch (err) {
      stats.fail(`${what}: connect`, err);
      return;
    }
    stats.bump('connects');
    stats.bump(`connects:${mode}`);
    // Until it leaves, nothing another client does may cost this socket its connection.
    let leaving = false;
    socket.on('disconnect', (reason) => {
      if (!leaving) stats.fail(`${what}: disconnected before it left`, reason);
    });
    const mine = new Set();
    try {
      const rooms = rng.sample(kRooms, rng.int(1, 3));
      const joined = await ack(socket, 'join', rooms.length === 1 && rng.chance(0.5) ? rooms[0] : rooms);
      assert.equal(joined?.ok, true, `join ${JSON.stringify(rooms)}: ${JSON.stringify(joined)}`);
      rooms.forEach((r) => mine.add(r));
      assert.deepEqual(joined.rooms, [...mine].sort(), 'rooms after join');
      stats.bump('joins');

      for (let op = rng.int(1, 4); op > 0 && socket.connected; op -= 1) {
        const kind = rng.weighted({ probe: 3, rooms: 1, unknown: 1, binary: 1, broadcast: 2, chatter: 2, leave: 1, join: 1 });
        if (kind === 'probe') {
          // A service emit to one of its rooms reaches it.
          const room = rng.pick([...mine]);
          const token = `${w}.${i}.${rng.int(0, 1e9)}`;
          const got = waitForMatch(socket, 'probe', (d) => d?.token === token, kStep, `probe ${token} in ${room}`);
          got.catch(() => {});
          const res = await api(port, 'POST', '/api/socket/emit', { room, event: 'probe', data: { token } }, { timeoutMs: kStep });
          assert.equal(res.status, 200, `probe emit: ${show(res)}`);
          assert.ok(Number(res.json?.recipients) >= 1, `probe emit to ${room} has this socket as a recipient: ${show(res)}`);
          await got;
          stats.bump('probesReceived');
        } else if (kind === 'rooms') {
          const res = await ack(socket, 'rooms');
          assert.deepEqual(res, { ok: true, rooms: [...mine].sort() }, 'rooms ack');
        } else if (kind === 'unknown' || kind === 'binary') {
          const arg = kind === 'binary' ? rng.bytes(rng.int(1, 512)) : { n: rng.int(0, 100) };
          const res = await ack(socket, 'no-such-event', arg);
          assert.equal(res?.error?.code, 'unavailable', `unavailable event ack: ${JSON.stringify(res)}`);
          stats.bump('unknownEventAcks');
        } else if (kind === 'broadcast') {
          const room = rng.pick([...mine]);
          const res = await ack(socket, 'broadcast', { room, event: 'tick', data: { from: w } });
          assert.equal(res?.ok, true, `broadcast ack: ${JSON.stringify(res)}`);
          assert.ok(res.recipients >= 1, `broadcast to ${room} reaches at least the sender: ${JSON.stringify(res)}`);
          stats.bump('broadcasts');
        } else if (kind === 'chatter') {
          socket.emit('chatter', { w, i, pad: 'c'.repeat(rng.int(0, 4000)) });
          stats.bump('chatter');
        } else if (kind === 'leave' && mine.size > 1) {
          const room = rng.pick([...mine]);
          const res = await ack(socket, 'leave', room);
          mine.delete(room);
          assert.deepEqual(res, { ok: true, rooms: [...mine].sort() }, `leave ${room}`);
        } else if (kind === 'join') {
          const room = rng.pick(kRooms);
          const res = await ack(socket, 'join', [room]);
          mine.add(room);
          assert.deepEqual(res, { ok: true, rooms: [...mine].sort() }, `join ${room}`);
        }
      }
    } catch (err) {
      stats.fail(what, err);
    }

    leaving = true;
    if (ending === 'clean') socket.close();
    else if (ending === 'engineClose') socket.io.engine?.close();
    else dropAbruptly(socket);
    stats.bump(`endings:${ending}`);
  }

  // --- raw Engine.IO / Socket.IO over WebSocket ----------------------------

  async function rawWsGarbage(w, i, rng) {
    const host = rng.pick(kHosts);
    const what = `raw WebSocket over ${host} (worker ${w}, iteration ${i})`;
    let raw;
    try {
      raw = track(await openRaw(port, host));
      const open = parseOpen(await raw.next(kStep));
      assert.equal(open.maxPayload, kMaxBuffer, 'maxPayload of the open packet');
    } catch (err) {
      raw?.close();
      stats.fail(`${what}: open`, err);
      return;
    }
    stats.bump('rawWsOpens');
    const connected = rng.chance(0.8);
    try {
      if (connected) {
        const auth = rng.chance(0.5) ? JSON.stringify({ rooms: rng.sample(kRooms, rng.int(1, 2)) }) : '';
        raw.send(`40${auth}`);
        const reply = await raw.next(kStep);
        assert.match(reply, /^40\{"sid":"[^"]+"/, 'CONNECT reply');
      }
    } catch (err) {
      raw.close();
      stats.fail(`${what}: CONNECT`, err);
      return;
    }

    if (connected && rng.chance(0.15)) {
      // Valid traffic, then the TCP connection vanishes: its rooms must go too.
      raw.send(`421["join",${JSON.stringify(rng.sample(kRooms, 2))}]`);
      await settle(raw.next(kStep));
      vanish(raw);
      stats.bump('rawWsVanished');
      return;
    }

    const catalogue = connected ? kWsGarbage : kPreConnectGarbage;
    for (let n = rng.int(1, 3); n > 0 && raw.isOpen; n -= 1) {
      const [kind, make, mustClose] = rng.pick(catalogue);
      for (const frame of make(rng)) {
        if (!raw.isOpen) break;
        sendFrame(raw, frame);
        stats.bump('garbageSends');
      }
      stats.bump(`garbage:${kind}`);
      const closed = await settle(raw.waitClosed(mustClose ? kStep : scaled(150)));
      if (closed.res) {
        stats.bump('garbageClosedByServer');
        break;
      }
      stats.bump(`garbageKeptOpen:${kind}`);
      if (mustClose) stats.fail(`${what}: "${kind}" did not close the connection within ${kStep} ms`, 'still open');
    }
    // Sometimes leave without a close frame.
    if (rng.chance(0.5)) vanish(raw);
    raw.close();
  }

  // --- raw Engine.IO polling -----------------------------------------------

  /** Polling handshake over `host`; resolves the sid and tracks it to close at the end. */
  async function handshake(host) {
    const res = await request(port, { host, path: eioPath('transport=polling'), timeoutMs: kStep });
    if (res.status !== 200) throw new Error(`handshake got ${res.status}: ${res.body}`);
    const { sid } = parseOpen(res.body);
    track({ close: () => settle(request(port, { host, method: 'POST', path: eioPath(`transport=polling&sid=${sid}`), body: '1', timeoutMs: kStep })) });
    return sid;
  }
  const get = (host, sid, opts = {}) => request(port, { host, path: eioPath(`transport=polling&sid=${encodeURIComponent(sid)}`), timeoutMs: kStep, ...opts });
  const post = (host, sid, body, headers = {}) =>
    request(port, { host, method: 'POST', path: eioPath(`transport=polling&sid=${encodeURIComponent(sid)}`), headers: { 'Content-Type': 'text/plain;charset=UTF-8', ...headers }, body, timeoutMs: kStep });

  /** Handshake plus CONNECT: resolves the sid once the CONNECT reply was polled. */
  async function sioPolling(host) {
    const sid = await handshake(host);
    const posted = await post(host, sid, '40');
    if (posted.status !== 200) throw new Error(`CONNECT POST got ${posted.status}: ${posted.body}`);
    const reply = await get(host, sid);
    if (!reply.body.startsWith('40')) throw new Error(`expected the CONNECT reply, got ${reply.status} ${reply.body}`);
    return sid;
  }

  async function pollingGarbage(w, i, rng) {
    const host = rng.pick(kHosts);
    const kind = rng.weighted({ body: 4, concurrentGets: 2, abortedGet: 2, noSid: 1, unknownSid: 1, oversize: 1, binaryBody: 1, afterClose: 1, badQuery: 1, truncatedPost: 1, upgrade: 3 });
    const what = `raw polling "${kind}" over ${host} (worker ${w}, iteration ${i})`;
    stats.bump(`polling:${kind}`);
    let sid;
    try {
      if (!['noSid', 'unknownSid', 'badQuery'].includes(kind)) sid = rng.chance(0.7) ? await sioPolling(host) : await handshake(host);
    } catch (err) {
      stats.fail(`${what}: handshake`, err);
      return;
    }
    stats.bump('pollingSessions', sid ? 1 : 0);
    const outcome = async (promise) => {
      stats.bump('garbageSends');
      const { res, err } = await settle(promise);
      if (err) stats.swallow(`polling ${kind}`);
      else stats.bump(`pollingStatus:${res.status}`);
      return res;
    };
    switch (kind) {
      case 'body':
        await outcome(post(host, sid, rng.pick(kPollBodies)(rng)));
        break;
      case 'concurrentGets': {
        const first = outcome(get(host, sid));
        await sleep(rng.int(0, 100));
        await outcome(get(host, sid));
        await first;
        break;
      }
      case 'abortedGet': {
        const req = http.request({ host, port, path: eioPath(`transport=polling&sid=${sid}`), agent: false });
        req.on('error', () => {});
        req.end();
        stats.bump('garbageSends');
        await sleep(rng.int(0, 150));
        req.destroy();
        break;
      }
      case 'noSid':
        await outcome(request(port, { host, method: 'POST', path: eioPath('transport=polling'), body: '40', timeoutMs: kStep }));
        break;
      case 'unknownSid': {
        const bogus = rng.pick(['no-such-session', '', rng.text(40), 'A'.repeat(2000)]);
        await outcome(rng.chance(0.5) ? get(host, bogus) : post(host, bogus, '40'));
        break;
      }
      case 'oversize':
        await outcome(post(host, sid, `42["big","${'o'.repeat(kMaxBuffer + 10)}"]`));
        break;
      case 'binaryBody':
        await outcome(post(host, sid, rng.bytes(rng.int(1, 300)), { 'Content-Type': 'application/octet-stream' }));
        break;
      case 'afterClose':
        await outcome(post(host, sid, '1'));
        await outcome(post(host, sid, '42["after-close"]'));
        await outcome(get(host, sid));
        break;
      case 'badQuery': {
        const query = rng.pick(['/socket.io/?EIO=3&transport=polling', '/socket.io/?transport=polling', eioPath('transport=carrier-pigeon'), eioPath('transport=polling&sid='), '/socket.io/?EIO=4&EIO=4&transport=polling&transport=websocket', '/socket.io/?EIO=%ZZ&transport=polling', `/socket.io/?${'x'.repeat(8000)}`]);
        await outcome(request(port, { host, path: query, timeoutMs: kStep }));
        break;
      }
      case 'truncatedPost': {
        // A body shorter than its Content-Length, then the connection closes.
        const { socket } = await tcpConnect(port, host);
        socket.write(`POST ${eioPath(`transport=polling&sid=${sid}`)} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5000\r\n\r\n42["par`);
        stats.bump('garbageSends');
        await sleep(rng.int(0, 100));
        socket.destroy();
        break;
      }
      case 'upgrade':
        await upgradeGarbage(host, sid, rng, what);
        break;
      default:
        throw new Error(kind);
    }
  }

  /** A polling session's WebSocket upgrade, broken: no `5`, garbage instead, or `5` then gone. */
  async function upgradeGarbage(host, sid, rng, what) {
    let probe;
    try {
      probe = track(await openRaw(port, host, `sid=${sid}`));
      probe.send('2probe');
      const pong = await probe.next(kStep);
      assert.equal(pong, '3probe', 'probe answer');
    } catch (err) {
      probe?.close();
      stats.swallow('upgrade probe'); // e.g. the session was a pre-CONNECT one that expired
      return;
    }
    const how = rng.weighted({ noUpgrade: 2, garbage: 2, upgradeThenVanish: 1 });
    stats.bump(`upgrade:${how}`);
    if (how === 'noUpgrade') {
      // The server must give up on the probe after --upgrade_timeout_ms.
      const createdAt = Date.now();
      abandoned.push({
        kind: 'probe without upgrade',
        createdAt,
        closedAt: () => probe.closed.then(({ at }) => at),
      });
      return;
    }
    if (how === 'garbage') {
      for (const frame of rng.pick(kWsGarbage)[1](rng)) sendFrame(probe, frame);
      stats.bump('garbageSends');
      await settle(probe.waitClosed(scaled(150)));
      probe.close();
      return;
    }
    probe.send('5');
    if (rng.chance(0.5)) probe.send('42["after-upgrade"]');
    vanish(probe);
    probe.close();
  }

  // --- sessions left alone: the connect timeout and heartbeat must end them --

  async function abandon(w, i, rng) {
    const host = rng.pick(kHosts);
    const kind = rng.pick(['ws without CONNECT', 'ws without pongs', 'polling without CONNECT', 'polling without polls']);
    const what = `abandoned "${kind}" over ${host} (worker ${w}, iteration ${i})`;
    const createdAt = Date.now();
    try {
      if (kind.startsWith('ws')) {
        const raw = track(await openRaw(port, host));
        parseOpen(await raw.next(kStep));
        if (kind === 'ws without pongs') {
          raw.send('40');
          assert.match(await raw.next(kStep), /^40\{/, 'CONNECT reply');
        }
        abandoned.push({ kind, createdAt, closedAt: () => raw.closed.then(({ at }) => at) });
      } else {
        const sid = kind === 'polling without CONNECT' ? await handshake(host) : await sioPolling(host);
        abandoned.push({
          kind,
          createdAt,
          // Asked after the deadline: a GET is 400 (or the close packet, then 400).
          gone: async () => {
            for (let n = 0; n < 2; n += 1) {
              const res = await get(host, sid);
              if (res.status === 400) return;
              const packets = res.body.split(RS);
              if (res.status !== 200 || packets.at(-1) !== '1') throw new Error(`session ${sid} still there: ${res.status} ${res.body}`);
            }
            throw new Error(`session ${sid} still there after its close packet`);
          },
        });
      }
      stats.bump(`abandoned:${kind}`);
    } catch (err) {
      stats.fail(`${what}: setup`, err);
    }
  }

  // --- raw TCP: HTTP and WebSocket framing garbage ---------------------------

  async function tcpGarbage(w, i, rng) {
    const host = rng.pick(kHosts);
    const kind = rng.pick(['random bytes', 'truncated request head', 'upgrade without key', 'bad frames after upgrade']);
    stats.bump(`tcp:${kind}`);
    let conn;
    try {
      conn = await tcpConnect(port, host);
    } catch (err) {
      stats.fail(`TCP connect over ${host} (worker ${w}, iteration ${i})`, err);
      return;
    }
    const { socket } = conn;
    track({ close: () => socket.destroy() });
    stats.bump('garbageSends');
    if (kind === 'random bytes') {
      socket.write(rng.chance(0.5) ? Buffer.concat([Buffer.from('GET /'), rng.bytes(rng.int(1, 500))]) : rng.bytes(rng.int(1, 500)));
      if (rng.chance(0.5)) socket.write('\r\n\r\n');
    } else if (kind === 'truncated request head') {
      socket.write(`GET ${eioPath('transport=polling')} HTTP/1.1\r\nHost: ${host}\r\nX-Pad: ${'p'.repeat(rng.int(0, 2000))}`);
    } else if (kind === 'upgrade without key') {
      socket.write(`GET ${eioPath('transport=websocket')} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    } else {
      socket.write(kWsUpgradeRequest(host));
      const upgraded = await settle(pollUntil(() => conn.data().includes('\r\n\r\n'), { timeoutMs: kStep, intervalMs: 10, what: '101 Switching Protocols' }));
      if (upgraded.err || !conn.data().toString().startsWith('HTTP/1.1 101')) {
        stats.fail(`raw WebSocket upgrade over ${host} (worker ${w}, iteration ${i})`, upgraded.err ?? conn.data().toString().slice(0, 200));
        socket.destroy();
        return;
      }
      const frames = [
        () => wsFrame(0x1, Buffer.from('40'), { mask: false }), // unmasked client frame
        () => wsFrame(0x3, Buffer.from('x')), // reserved opcode
        () => wsFrame(0x1, Buffer.from('40'), { rsv: 4 }), // RSV1 without an extension
        () => wsFrame(0x9, Buffer.from('ping'), { fin: false }), // fragmented control frame
        () => wsFrame(0x9, Buffer.alloc(200, 1)), // control frame over 125 bytes
        () => wsFrame(0x0, Buffer.from('orphan')), // continuation without a start
        () => wsFrame(0x2, Buffer.alloc(0), { length: 2 ** 40 }), // absurd length
        () => wsFrame(0x8, Buffer.from([0x03, 0xe7])), // close with an invalid code (999)
        () => Buffer.concat([wsFrame(0x1, Buffer.from('4'), { fin: false }), wsFrame(0x1, Buffer.from('0'))]), // new message inside a fragmented one
        () => wsFrame(0x1, Buffer.from([0x34, 0x30, 0xff])), // invalid UTF-8
      ];
      socket.write(rng.pick(frames)());
    }
    await tcpClosed(socket, scaled(rng.int(50, 300)));
    socket.destroy();
  }

  // --- workers --------------------------------------------------------------

  async function worker(w) {
    const rng = makeRng(kSeed + w * 0x9e3779b9);
    for (let i = 0; i < kMaxIterations && running(); i += 1) {
      const action = rng.weighted({ sio: 8, rawWs: 6, polling: 4, abandon: 1, tcp: 2 });
      stats.bump(`actions:${action}`);
      try {
        if (action === 'sio') await sioClient(w, i, rng);
        else if (action === 'rawWs') await rawWsGarbage(w, i, rng);
        else if (action === 'polling') await pollingGarbage(w, i, rng);
        else if (action === 'abandon') await abandon(w, i, rng);
        else await tcpGarbage(w, i, rng);
      } catch (err) {
        stats.fail(`worker ${w} iteration ${i} (${action}) threw`, err);
      }
      stats.bump('iterations');
    }
  }

  // --- the run ----------------------------------------------------------------

  const startedAt = Date.now();
  await withTimeout(Promise.all([serviceLoop(), ...Array.from({ length: kWorkers }, (_, w) => worker(w))]), kDurationMs + scaled(60000), 'the churn workers');
  const ranMs = Date.now() - startedAt;

  // Every abandoned session is ended by the server within its deadline.
  const lastAbandoned = Math.max(0, ...abandoned.map((a) => a.createdAt));
  const waitUntil = lastAbandoned + kAbandonDeadline + kSlack;
  if (Date.now() < waitUntil) await sleep(waitUntil - Date.now());
  // A WebSocket one must have been closed by then (its close time is known);
  // a polling one must be gone when asked now.
  const notExpired = [];
  const expiry = {}; // kind -> [min, max] ms from opening to the server's close
  for (const a of abandoned) {
    if (a.closedAt) {
      const { res: at, err } = await settle(withTimeout(a.closedAt(), scaled(100), `the close of "${a.kind}"`));
      const latency = err ? Infinity : at - a.createdAt;
      if (latency > kAbandonDeadline + kSlack) notExpired.push(`${a.kind}: ${err ? err.message : `closed only after ${latency} ms`}`);
      else {
        const [lo, hi] = expiry[a.kind] ?? [Infinity, 0];
        expiry[a.kind] = [Math.min(lo, latency), Math.max(hi, latency)];
      }
    } else {
      const { err } = await settle(a.gone());
      if (err) notExpired.push(`${a.kind}: ${err.message}`);
    }
  }

  // Close every client, then the server must report nothing left.
  await settle(withTimeout(Promise.all([...live].map((closer) => closer.close())), kStep + 1000, 'closing every client'));
  live.clear();
  let last;
  const emptied = await settle(pollUntil(async () => {
    last = await serverState(port);
    return isEmpty(last);
  }, { timeoutMs: Math.max(5000, scaled(5000)), intervalMs: 100, what: 'no connections, sessions or rooms' }));

  const counts = Object.fromEntries(Object.entries(stats.counts).sort(([a], [b]) => a.localeCompare(b)));
  const summary = `ran ${ranMs} ms; counts ${JSON.stringify(counts)}; abandoned ${abandoned.length} (closed by the server after [min, max] ms: ${JSON.stringify(expiry)}; connect timeout ${kConnectTimeout} ms, heartbeat ${kPingInterval}+${kPingTimeout} ms, upgrade timeout ${kUpgradeTimeout} ms); server counters ${JSON.stringify(last?.counters)}`;
  t.diagnostic(summary);

  // The server is alive and serving.
  assert.equal(server.child.exitCode, null, `roomcastd exited during the churn:\n${server.output().slice(-4000)}`);
  assert.equal(server.child.signalCode, null, `roomcastd was killed during the churn:\n${server.output().slice(-4000)}`);
  assert.ok(emptied.res, `the server still reports state after every client closed: ${JSON.stringify(last)} (${emptied.err?.message})`);
  const health = await request(port, { path: '/healthz', timeoutMs: kStep });
  assert.equal(health.status, 200, `GET /healthz: ${health.status} ${health.body}`);
  await assertFreshClientServed(port);

  // What a correct server does on the well-formed paths, and with its timers.
  assert.deepEqual(stats.unexpected, [], `failures on well-formed paths (seed ${kSeed})`);
  assert.deepEqual(notExpired, [], `sessions the server did not end within ${kAbandonDeadline} + ${kSlack} ms (seed ${kSeed})`);

  // The workload really happened (scaled down for short or slow runs).
  const expect = (n) => Math.max(3, Math.floor((n * Math.min(kDurationMs, 6000)) / 6000 / kScale));
  const atLeast = (name, n) => assert.ok((counts[name] ?? 0) >= expect(n), `at least ${expect(n)} ${name}, got ${counts[name] ?? 0}: ${JSON.stringify(counts)}`);
  atLeast('connects', 40);
  atLeast('garbageSends', 80);
  atLeast('emits', 60);
  atLeast('probesReceived', 20);
  atLeast('rawWsOpens', 20);
  atLeast('pollingSessions', 10);
  assert.ok(abandoned.length >= 1 || kDurationMs < 3000, `at least one abandoned session: ${JSON.stringify(counts)}`);
  assert.ok(Number(last.counters?.protocolErrors ?? 0) > 0, `the server counted protocol errors: ${JSON.stringify(last.counters)}`);
  assert.ok(Number(last.counters?.sessionsOpened ?? 0) >= counts.connects + counts.rawWsOpens, `sessionsOpened covers our sessions: ${JSON.stringify(last.counters)}`);

  // No sanitizer report, during the run or at a clean exit.
  assert.doesNotMatch(server.output(), kSanitizerReport, 'sanitizer report while running');
  const exit = await stopServer(server, { signal: 'SIGTERM', timeoutMs: scaled(15000) });
  assert.doesNotMatch(server.output(), kSanitizerReport, `sanitizer report at exit:\n${server.output().slice(-4000)}`);
  assert.deepEqual({ code: exit.code, signal: exit.signal, killed: exit.killed ?? false }, { code: 0, signal: null, killed: false }, `exit after SIGTERM:\n${server.output().slice(-2000)}`);
});

// ---------------------------------------------------------------------------

/** Status and metrics in one object: { connections, rooms, topRooms, namespaces, sessionsOpen, socketsConnected, counters }. */
async function serverState(port) {
  const res = await api(port, 'GET', '/api/socket/status', undefined, { timeoutMs: kStep });
  assert.equal(res.status, 200, show(res));
  const metrics = parsePrometheus((await request(port, { path: '/metrics', timeoutMs: kStep })).body);
  const { connections, rooms, topRooms, namespaces, counters } = res.json;
  return {
    connections,
    rooms,
    topRooms,
    namespaces,
    sessionsOpen: sampleValue(metrics, 'roomcast_sessions_open'),
    socketsConnected: sampleValue(metrics, 'roomcast_sockets_connected'),
    counters,
  };
}

function isEmpty(s) {
  return s.connections === '0' && s.rooms === '0' && Array.isArray(s.topRooms) && s.topRooms.length === 0 &&
    (s.namespaces ?? []).every((n) => (n.sockets ?? '0') === '0' && (n.rooms ?? '0') === '0') &&
    s.sessionsOpen === 0 && s.socketsConnected === 0;
}

/** A new socket.io-client (WebSocket, then polling) connects, joins a room and receives a service emit. */
async function assertFreshClientServed(port) {
  for (const transports of [['websocket'], ['polling']]) {
    const socket = makeSocket(baseUrl(port), { transports, timeout: kStep });
    try {
      const connected = new Promise((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      socket.connect();
      await withTimeout(connected, kStep + 1000, `a fresh ${transports} client to connect`);
      const joined = await socket.timeout(kStep).emitWithAck('join', 'after-churn');
      assert.deepEqual(joined, { ok: true, rooms: ['after-churn'] }, `fresh ${transports} client joins`);
      const got = waitForMatch(socket, 'hello', () => true, kStep, `the emit at a fresh ${transports} client`);
      got.catch(() => {});
      const res = await api(port, 'POST', '/api/socket/emit', { room: 'after-churn', event: 'hello', data: { transports } }, { timeoutMs: kStep });
      assert.equal(res.status, 200, show(res));
      assert.equal(res.json.recipients, '1', `recipients in "after-churn": ${show(res)}`);
      assert.deepEqual(await got, { transports });
    } finally {
      socket.close();
    }
  }
}
