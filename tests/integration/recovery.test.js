// Connection state recovery on one node (memory log), as socket.io >= 4.6
// does it (docs/PROTOCOL.md §3), with --recovery_window_ms /
// ROOMCAST_RECOVERY_WINDOW_MS (default 0: off). With a window the CONNECT
// reply carries a private `pid` and every logged event an opaque offset as
// its last argument (volatile ones none). After an unexpected disconnect
// (transport close, ping timeout) the session is kept for the window: the
// client, reconnecting with its pid and last offset, gets the same socket id,
// `recovered === true`, its rooms, and every event it missed that targeted
// its rooms (minus except rooms), in order and before `connect` fires.
// Outside the window, or with an unknown pid or offset: a fresh session.
//
// The client reaches roomcastd through a loopback proxy (../support/proxy.js)
// that cuts, silences or refuses its connection (WebSocket, and once
// long-polling); "nothing lost" is checked by counting numbered events, and
// "nothing twice" too: an offset the server cannot place (never issued,
// evicted from --event_log_size, or not an offset at all) must never become
// a partial or repeated replay. The cluster (Redis log, a node killed):
// recovery_cluster.test.js; a browser: ../e2e/recovery.test.js.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Manager } from 'socket.io-client';
import { clearAuthEnv, kSecret, now, sign } from '../support/auth.js';
import { api, findSamples, parsePrometheus, pollUntil } from '../support/control.js';
import { useRoomcastd } from '../support/fixtures.js';
import { startProxy } from '../support/proxy.js';
import { RawWs, parseOpen } from '../support/raw.js';
import {
  assertOffsets, clientAfterFirstEvent, countOf, cutAndReconnect, cutOff, disconnectAndReconnect, emitNumbered, idsOf,
  kConnected, kDisconnected, kReconnect, kRecovered, letBackIn, postEmit, proxiedClient, range, received, record, view,
} from '../support/recovery.js';
import { emitWithAck, join, kStepTimeoutMs, makeSocket, roomsOf, sleep, waitFor, waitForArgs, withTimeout } from '../support/sio.js';

clearAuthEnv();
delete process.env.ROOMCAST_RECOVERY_WINDOW_MS;
delete process.env.ROOMCAST_EVENT_LOG_SIZE;

const kWindowMs = 10000;
const kTestTimeout = { timeout: 40000 };

// ---------------------------------------------------------------- helpers

/** roomcast_sessions_open on `port` (Engine.IO sessions open now). */
async function sessionsOpen(port) {
  const res = await api(port, 'GET', '/metrics');
  const samples = findSamples(parsePrometheus(res.body), 'roomcast_sessions_open');
  return samples.length === 1 ? samples[0].value : undefined;
}

/** A raw WebSocket session: open, then CONNECT to "/" with `auth` (an object or nothing). */
async function rawConnect(port, auth) {
  const raw = await RawWs.open(port);
  parseOpen(await raw.next());
  raw.send(auth === undefined ? '40' : `40${JSON.stringify(auth)}`);
  return raw;
}

/**
 * Reads a raw session's messages until the CONNECT reply (answering pings);
 * resolves { reply (parsed), before: [parsed EVENT payloads that came first] }.
 */
async function readUntilConnect(raw) {
  const before = [];
  for (let i = 0; i < 1000; i += 1) {
    const msg = await raw.next();
    if (msg === '2') {
      raw.send('3');
    } else if (msg.startsWith('40')) {
      return { reply: JSON.parse(msg.slice(2)), before };
    } else if (msg.startsWith('42')) {
      before.push(JSON.parse(msg.slice(2)));
    } else {
      throw new Error(`unexpected message before the CONNECT reply: ${msg}`);
    }
  }
  throw new Error('no CONNECT reply within 1000 messages');
}

/** The next EVENT on a raw session (pings answered), parsed. */
async function nextEvent(raw, ms = kStepTimeoutMs) {
  for (let i = 0; i < 100; i += 1) {
    const msg = await raw.next(ms);
    if (msg === '2') {
      raw.send('3');
      continue;
    }
    if (!msg.startsWith('42')) throw new Error(`expected an EVENT, got ${msg}`);
    return JSON.parse(msg.slice(2));
  }
  throw new Error('only pings');
}

/** Resolves if no EVENT arrives on `raw` within `ms`; rejects with it if one does. */
async function noEvent(raw, ms = 300) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    let msg;
    try {
      msg = await raw.next(Math.max(1, deadline - Date.now()));
    } catch {
      return;
    }
    if (msg === '2') raw.send('3');
    else throw new Error(`unexpected message: ${msg}`);
  }
}

// ================================================================ the window on

describe(`connection state recovery (--recovery_window_ms=${kWindowMs})`, () => {
  const fx = useRoomcastd([`--recovery_window_ms=${kWindowMs}`, '--namespaces=/,/other', '--enable_client_broadcast']);

  it('CONNECT replies {sid, pid}; logged events end with an offset string, volatile ones do not', kTestTimeout, async (t) => {
    const raw = await rawConnect(fx.port);
    t.after(() => raw.close());
    const { reply, before } = await readUntilConnect(raw);
    assert.deepEqual(before, []);
    assert.deepEqual(Object.keys(reply).sort(), ['pid', 'sid'], `CONNECT reply ${JSON.stringify(reply)}`);
    assert.equal(typeof reply.sid, 'string');
    assert.equal(typeof reply.pid, 'string');
    assert.notEqual(reply.pid, '');
    assert.notEqual(reply.pid, reply.sid, 'the private id is not the public one');

    const first = await postEmit(fx.port, { event: 'w', data: { k: 1 } });
    const logged = await nextEvent(raw);
    assert.equal(logged.length, 3, `["w", data, offset]: ${JSON.stringify(logged)}`);
    assert.deepEqual(logged.slice(0, 2), ['w', { k: 1 }]);
    assert.equal(typeof logged[2], 'string');
    assert.notEqual(logged[2], '');

    await postEmit(fx.port, { event: 'w', data: 2, volatile: true });
    assert.deepEqual(await nextEvent(raw), ['w', 2], 'a volatile event carries no offset');

    const second = await postEmit(fx.port, { event: 'w', data: [3, 'x'] });
    const next = await nextEvent(raw);
    assert.equal(next.length, 3, JSON.stringify(next));
    assert.deepEqual(next.slice(0, 2), ['w', [3, 'x']]);
    assert.equal(typeof next[2], 'string');
    assert.notEqual(next[2], logged[2], 'each logged event has its own offset');
    assert.ok(second.offset > first.offset, `emit offsets ${first.offset} < ${second.offset}`);
    if (first.epoch !== undefined) assert.equal(second.epoch, first.epoch, 'one epoch for one log');
  });

  it('on the wire: the recovered CONNECT gets the missed events first, then {same sid, same pid}', kTestTimeout, async (t) => {
    const raw = await rawConnect(fx.port);
    t.after(() => raw.close());
    const { reply } = await readUntilConnect(raw);
    await postEmit(fx.port, { event: 'w', data: 'seen' });
    const seen = await nextEvent(raw);
    const offset = seen[2];
    raw.close(); // a TCP close without a close packet: "transport close"
    await sleep(100);
    await postEmit(fx.port, { event: 'w', data: 'missed-1' });
    await postEmit(fx.port, { event: 'w', data: 'volatile', volatile: true });
    await postEmit(fx.port, { event: 'w', data: 'missed-2' });

    const back = await rawConnect(fx.port, { pid: reply.pid, offset });
    t.after(() => back.close());
    const recovered = await readUntilConnect(back);
    assert.deepEqual(recovered.reply, { sid: reply.sid, pid: reply.pid }, 'same public and private id');
    assert.deepEqual(recovered.before.map((args) => args.slice(0, 2)), [['w', 'missed-1'], ['w', 'missed-2']],
      `missed events before the CONNECT reply: ${JSON.stringify(recovered.before)}`);
    for (const args of recovered.before) assert.equal(typeof args[2], 'string', `replayed with its offset: ${JSON.stringify(args)}`);
    await noEvent(back, 300);
    // Live again, from the same session.
    await postEmit(fx.port, { event: 'w', data: 'live' });
    assert.deepEqual((await nextEvent(back)).slice(0, 2), ['w', 'live']);
  });

  it('an unknown pid, or a known pid with an offset the log never issued: a fresh session', kTestTimeout, async (t) => {
    const stranger = await rawConnect(fx.port, { pid: 'no-such-pid', offset: '1' });
    t.after(() => stranger.close());
    const fresh = await readUntilConnect(stranger);
    assert.deepEqual(fresh.before, [], 'nothing replayed to an unknown pid');
    assert.equal(typeof fresh.reply.sid, 'string');
    assert.equal(typeof fresh.reply.pid, 'string');
    assert.notEqual(fresh.reply.pid, 'no-such-pid');

    const raw = await rawConnect(fx.port);
    t.after(() => raw.close());
    const { reply } = await readUntilConnect(raw);
    await postEmit(fx.port, { event: 'w', data: 'seen' });
    await nextEvent(raw);
    raw.close();
    await sleep(100);
    await postEmit(fx.port, { event: 'w', data: 'missed' });
    const forged = await rawConnect(fx.port, { pid: reply.pid, offset: 'zzzz-not-an-offset' });
    t.after(() => forged.close());
    const other = await readUntilConnect(forged);
    assert.deepEqual(other.before, [], `nothing replayed for an unknown offset: ${JSON.stringify(other.before)}`);
    assert.notEqual(other.reply.sid, reply.sid, 'a new socket id');
    assert.notEqual(other.reply.pid, reply.pid, 'a new private id');
  });

  it('after a transport close: same id, rooms back, every missed event in order, once, before connect', kTestTimeout, async (t) => {
    const { proxy, socket, log, id } = await proxiedClient(t, fx);
    assert.equal(socket.recovered, false);
    await join(socket, ['r1', 'r2']);
    await emitNumbered(fx.port, 1, 3, { rooms: ['r1'] });
    await received(log, 3);

    const { reason } = await cutAndReconnect(proxy, socket, async () => {
      // 20 events while the client is away: to r1, r2, both, and the whole namespace.
      const targets = [{ rooms: ['r1'] }, { rooms: ['r2'] }, { rooms: ['r1', 'r2'] }, {}];
      for (let i = 4; i <= 23; i += 1) await emitNumbered(fx.port, i, i, targets[i % targets.length]);
    });
    assert.equal(reason, 'transport close');
    assert.equal(socket.recovered, true);
    assert.equal(socket.id, id, 'the same socket id');
    assert.deepEqual(await roomsOf(socket), ['r1', 'r2'], 'rooms back');

    await emitNumbered(fx.port, 24, 26, { rooms: ['r2'] });
    await received(log, 26);
    assert.deepEqual(view(log), [kConnected, ...range(1, 3), kDisconnected, ...range(4, 23), kRecovered, ...range(24, 26)]);
    assertOffsets(log);
    assert.deepEqual(idsOf(log), [id, id]);
    assert.ok(proxy.connections >= 2, `the client reconnected through the proxy (${proxy.connections} connections)`);
  });

  it('twice in a row: each time the same id and exactly the events missed', kTestTimeout, async (t) => {
    const { proxy, socket, log, id } = await proxiedClient(t, fx, { rooms: 'twice' });
    await emitNumbered(fx.port, 1, 2, { rooms: ['twice'] });
    await received(log, 2);
    await cutAndReconnect(proxy, socket, () => emitNumbered(fx.port, 3, 12, { rooms: ['twice'] }));
    assert.equal(socket.recovered, true);
    await received(log, 12);
    await cutAndReconnect(proxy, socket, () => emitNumbered(fx.port, 13, 22, { rooms: ['twice'] }));
    assert.equal(socket.recovered, true);
    assert.equal(socket.id, id);
    await emitNumbered(fx.port, 23, 23, { rooms: ['twice'] });
    await received(log, 23);
    assert.deepEqual(view(log), [
      kConnected, 1, 2, kDisconnected, ...range(3, 12), kRecovered, kDisconnected, ...range(13, 22), kRecovered, 23,
    ]);
    assertOffsets(log);
    assert.deepEqual(idsOf(log), [id, id, id]);
    assert.deepEqual(await roomsOf(socket), ['twice']);
  });

  it('a socket that never received an event (pid, no offset) recovers from where it joined', kTestTimeout, async (t) => {
    const { proxy, socket, log, id } = await proxiedClient(t, fx, { rooms: 'quiet' });
    // Before the join, nothing was for this socket; the join's ack carries no offset.
    assert.equal(countOf(log), 0);
    await cutAndReconnect(proxy, socket, () => emitNumbered(fx.port, 1, 5, { rooms: ['quiet'] }));
    assert.equal(socket.recovered, true, 'recovered with a pid and no offset');
    assert.equal(socket.id, id);
    await emitNumbered(fx.port, 6, 6, { rooms: ['quiet'] });
    await received(log, 6);
    assert.deepEqual(view(log), [kConnected, kDisconnected, ...range(1, 5), kRecovered, 6]);
    assertOffsets(log);
    assert.deepEqual(await roomsOf(socket), ['quiet']);
  });

  it('a reconnect within the same second recovers, twice in quick succession', kTestTimeout, async (t) => {
    const { proxy, socket, log, id } = await clientAfterFirstEvent(t, fx, 'quick');
    let next = 2;
    let sameSecond = 0;
    const cycles = [];
    for (let attempt = 0; attempt < 3 && sameSecond === 0; attempt += 1) {
      // Start just after a second boundary.
      await pollUntil(() => Date.now() % 1000 < 100, { timeoutMs: 1500, intervalMs: 5, what: 'a second boundary' });
      for (let cycle = 0; cycle < 2; cycle += 1) {
        const from = next;
        next += 3;
        const times = await cutAndReconnect(proxy, socket, () => emitNumbered(fx.port, from, from + 2, { rooms: ['quick'] }));
        cycles.push(times);
        assert.equal(socket.recovered, true, `cycle ${cycles.length} recovered (${times.connectedAt - times.disconnectedAt} ms away)`);
        assert.equal(socket.id, id);
        if (Math.floor(times.disconnectedAt / 1000) === Math.floor(times.connectedAt / 1000)) sameSecond += 1;
      }
    }
    assert.ok(sameSecond >= 1, `a disconnect and its reconnect within one second: ${JSON.stringify(cycles)}`);
    await received(log, next - 1);
    assert.deepEqual(log.filter((e) => e.event === 'n').map((e) => e.args[0]), range(1, next - 1), 'every event once, in order');
    assert.equal(countOf(log, kRecovered), cycles.length);
    assertOffsets(log);
  });

  it('events in flight when the connection is cut arrive exactly once', kTestTimeout, async (t) => {
    const { proxy, socket, log } = await clientAfterFirstEvent(t, fx, 'flight');
    // Emits racing the cut; the client reconnects at once (no refusal).
    const disconnected = waitFor(socket, 'disconnect', 5000);
    const reconnected = waitFor(socket, 'connect', 10000);
    const emits = emitNumbered(fx.port, 2, 21, { rooms: ['flight'] });
    await sleep(5);
    proxy.dropAll();
    await disconnected;
    await emits;
    await reconnected;
    await received(log, 21, { settleMs: 500 });
    assert.equal(socket.recovered, true);
    assert.deepEqual(log.filter((e) => e.event === 'n').map((e) => e.args[0]), range(1, 21), `each event once: ${JSON.stringify(view(log))}`);
    assertOffsets(log);
  });

  it('replays only what targeted its rooms: not other rooms, not except rooms, not a room it left, not another namespace', kTestTimeout, async (t) => {
    const proxy = await startProxy({ target: fx.port });
    const manager = new Manager(proxy.url, { transports: ['websocket'], autoConnect: false, timeout: kStepTimeoutMs, ...kReconnect });
    const main = manager.socket('/');
    const other = manager.socket('/other');
    t.after(async () => {
      main.close();
      other.close();
      await proxy.close();
    });
    const mainLog = record(main);
    const otherLog = record(other);
    const connected = Promise.all([waitFor(main, 'connect'), waitFor(other, 'connect')]);
    main.connect();
    other.connect();
    await connected;
    const ids = [main.id, other.id];
    await join(main, ['a', 'muted', 'gone']);
    const left = await emitWithAck(main, 'leave', 'gone');
    assert.equal(left?.ok, true, `leave ack ${JSON.stringify(left)}`);
    await join(other, 'a');
    await postEmit(fx.port, { event: 't', data: 'before' });
    await postEmit(fx.port, { namespace: '/other', event: 't', data: '/other before' });
    await received(mainLog, 1, { event: 't', settleMs: 0 });
    await received(otherLog, 1, { event: 't', settleMs: 0 });

    await cutAndReconnect(proxy, main, async () => {
      const emits = [
        [{ rooms: ['b'] }, 'b only'],
        [{ rooms: ['a'], exceptRooms: ['muted'] }, 'a except muted'],
        [{ rooms: ['a'] }, 'a'],
        [{}, 'everyone'],
        [{ rooms: ['b', 'a'] }, 'b and a'],
        [{ rooms: ['gone'] }, 'a room it left'],
        [{ rooms: ['a'], exceptRooms: ['zzz'] }, 'a except zzz'],
        [{ rooms: ['muted'] }, 'muted'],
        [{ namespace: '/other', rooms: ['a'] }, '/other a'],
        [{ namespace: '/other', rooms: ['b'] }, '/other b'],
        [{ namespace: '/other' }, '/other everyone'],
      ];
      for (const [target, data] of emits) await postEmit(fx.port, { event: 't', ...target, data });
    }, { also: [other] });
    assert.equal(main.recovered, true);
    assert.equal(other.recovered, true);
    assert.deepEqual([main.id, other.id], ids, 'both sockets of the connection keep their ids');
    await postEmit(fx.port, { event: 't', data: 'after' });
    await postEmit(fx.port, { namespace: '/other', event: 't', data: '/other after' });
    await received(mainLog, 7, { event: 't' });
    await received(otherLog, 4, { event: 't' });
    assert.deepEqual(view(mainLog), [kConnected, 't="before"', kDisconnected,
      't="a"', 't="everyone"', 't="b and a"', 't="a except zzz"', 't="muted"', kRecovered, 't="after"']);
    assert.deepEqual(view(otherLog), [kConnected, 't="/other before"', kDisconnected,
      't="/other a"', 't="/other everyone"', kRecovered, 't="/other after"']);
    assertOffsets(mainLog, 't');
    assertOffsets(otherLog, 't');
    assert.deepEqual(await roomsOf(main), ['a', 'muted']);
    assert.deepEqual(await roomsOf(other), ['a']);
  });

  it('volatile events are delivered live without an offset and never replayed', kTestTimeout, async (t) => {
    const { proxy, socket, log } = await proxiedClient(t, fx, { rooms: 'vol' });
    await emitNumbered(fx.port, 1, 1, { rooms: ['vol'] });
    await postEmit(fx.port, { event: 'v', rooms: ['vol'], data: { v: 1 }, volatile: true });
    await received(log, 1, { event: 'v' });
    await cutAndReconnect(proxy, socket, async () => {
      await postEmit(fx.port, { event: 'v', rooms: ['vol'], data: { v: 2 }, volatile: true });
      await emitNumbered(fx.port, 2, 2, { rooms: ['vol'] });
      await postEmit(fx.port, { event: 'v', rooms: ['vol'], data: { v: 3 }, volatile: true });
      await emitNumbered(fx.port, 3, 3, { rooms: ['vol'] });
    });
    assert.equal(socket.recovered, true);
    await postEmit(fx.port, { event: 'v', rooms: ['vol'], data: { v: 4 }, volatile: true });
    await received(log, 2, { event: 'v' });
    assert.deepEqual(view(log), [kConnected, 1, 'v={"v":1}', kDisconnected, 2, 3, kRecovered, 'v={"v":4}']);
    for (const entry of log.filter((e) => e.event === 'v')) {
      assert.deepEqual(entry.args.length, 1, `a volatile event has no offset: ${JSON.stringify(entry.args)}`);
    }
    assertOffsets(log);
  });

  it('a volatile event with string data (which the client takes for its offset) causes no duplicate', kTestTimeout, async (t) => {
    // socket.io-client records any trailing string argument as its last
    // offset, so a volatile `typing("alice")` overwrites it: the recovered
    // CONNECT then names an offset the log never issued. Whatever the server
    // makes of it, nothing may be delivered twice.
    const { proxy, socket, log } = await proxiedClient(t, fx, { rooms: 'typing' });
    await emitNumbered(fx.port, 1, 3, { rooms: ['typing'] });
    await postEmit(fx.port, { event: 'typing', rooms: ['typing'], data: 'alice', volatile: true });
    await received(log, 1, { event: 'typing' });
    assert.equal(socket._lastOffset, 'alice', 'the client now holds a non-offset as its offset');
    await cutAndReconnect(proxy, socket, () => emitNumbered(fx.port, 4, 6, { rooms: ['typing'] }));
    await sleep(500);
    const numbers = log.filter((e) => e.event === 'n').map((e) => e.args[0]);
    assert.equal(new Set(numbers).size, numbers.length,
      `no event delivered twice (recovered=${socket.recovered}): ${JSON.stringify(view(log))}`);
  });

  it('over HTTP long-polling: a cut poll is recovered like a WebSocket', kTestTimeout, async (t) => {
    const { proxy, socket, log, id } = await proxiedClient(t, fx, { opts: { transports: ['polling'] }, rooms: 'poll' });
    await emitNumbered(fx.port, 1, 2, { rooms: ['poll'] });
    await received(log, 2);
    const { reason } = await cutAndReconnect(proxy, socket, () => emitNumbered(fx.port, 3, 10, { rooms: ['poll'] }));
    assert.match(reason, /^transport (close|error)$/);
    assert.equal(socket.recovered, true);
    assert.equal(socket.id, id);
    assert.equal(socket.io.engine.transport.name, 'polling');
    await emitNumbered(fx.port, 11, 11, { rooms: ['poll'] });
    await received(log, 11);
    assert.deepEqual(view(log), [kConnected, 1, 2, kDisconnected, ...range(3, 10), kRecovered, 11]);
    assertOffsets(log);
    assert.deepEqual(await roomsOf(socket), ['poll']);
  });

  it('a binary event broadcast by another client while away is replayed with its attachment', kTestTimeout, async (t) => {
    const { proxy, socket, log } = await proxiedClient(t, fx, { rooms: 'bin' });
    const sender = makeSocket(fx.url(), { transports: ['websocket'] });
    t.after(() => sender.close());
    const senderUp = waitFor(sender, 'connect');
    sender.connect();
    await senderUp;
    await cutAndReconnect(proxy, socket, async () => {
      const ack = await emitWithAck(sender, 'broadcast', { room: 'bin', event: 'bin', data: { n: 1, bytes: Buffer.from([1, 2, 250]) } });
      assert.equal(ack?.ok, true, `broadcast ack ${JSON.stringify(ack)}`);
      await emitNumbered(fx.port, 2, 2, { rooms: ['bin'] });
    });
    assert.equal(socket.recovered, true);
    await received(log, 1, { event: 'bin' });
    const entry = log.find((e) => e.event === 'bin');
    assert.equal(entry.args.length, 2, `data and offset: ${JSON.stringify(entry.args)}`);
    assert.equal(entry.args[0].n, 1);
    assert.deepEqual(Buffer.from(entry.args[0].bytes), Buffer.from([1, 2, 250]), 'the attachment arrives intact');
    assert.equal(typeof entry.args[1], 'string');
    assert.deepEqual(view(log).map((v) => (typeof v === 'string' && v.startsWith('bin=') ? 'bin' : v)),
      [kConnected, kDisconnected, 'bin', 2, kRecovered]);
  });

  it('a clean disconnect (socket.disconnect(), then connect()) is not recovered', kTestTimeout, async (t) => {
    const { socket, log, id } = await clientAfterFirstEvent(t, fx, 'clean');
    await disconnectAndReconnect(socket, () => emitNumbered(fx.port, 2, 4, { rooms: ['clean'] }));
    assert.equal(socket.recovered, false);
    assert.notEqual(socket.id, id, 'a new socket id');
    assert.deepEqual(await roomsOf(socket), [], 'no rooms from the old session');
    await emitNumbered(fx.port, 5, 5, { rooms: ['clean'] });
    await postEmit(fx.port, { event: 'n', data: 6 });
    await received(log, 2);
    assert.deepEqual(view(log), [kConnected, 1, kDisconnected, kConnected, 6]);
  });
});

// ================================================================ ping timeouts

describe('recovery after a ping timeout (--ping_interval_ms=300 --ping_timeout_ms=200)', () => {
  const kInterval = 300;
  const kTimeout = 200;
  const fx = useRoomcastd([`--recovery_window_ms=${kWindowMs}`, `--ping_interval_ms=${kInterval}`, `--ping_timeout_ms=${kTimeout}`]);

  /** Silences the proxy until both sides gave up (client: "ping timeout"; server: no session open). */
  async function silenceAndRecover(proxy, socket, whileAway) {
    proxy.blackhole(true);
    const [reason] = await waitForArgs(socket, 'disconnect', 3 * (kInterval + kTimeout) + 2000);
    await pollUntil(async () => (await sessionsOpen(fx.port)) === 0, {
      timeoutMs: 3 * (kInterval + kTimeout) + 2000,
      intervalMs: 50,
      what: 'the server to expire the silent session',
    });
    await whileAway();
    const back = waitFor(socket, 'connect', 10000);
    proxy.blackhole(false);
    await back;
    return reason;
  }

  it('both sides time out; the client recovers, twice, and stays connected', kTestTimeout, async (t) => {
    const { proxy, socket, log, id } = await proxiedClient(t, fx, { rooms: 'hb' });
    await emitNumbered(fx.port, 1, 2, { rooms: ['hb'] });
    await received(log, 2);

    assert.equal(await silenceAndRecover(proxy, socket, () => emitNumbered(fx.port, 3, 12, { rooms: ['hb'] })), 'ping timeout');
    assert.equal(socket.recovered, true, 'recovered after a ping timeout');
    assert.equal(socket.id, id);
    await received(log, 12);
    assert.equal(await silenceAndRecover(proxy, socket, () => emitNumbered(fx.port, 13, 22, { rooms: ['hb'] })), 'ping timeout');
    assert.equal(socket.recovered, true, 'recovered after a second ping timeout');
    assert.equal(socket.id, id);
    assert.deepEqual(await roomsOf(socket), ['hb']);
    // The recovered session heartbeats like any other.
    const drops = [];
    socket.on('disconnect', (reason) => drops.push(reason));
    await sleep(4 * kInterval);
    assert.deepEqual(drops, [], 'still connected after several ping cycles');
    await emitNumbered(fx.port, 23, 23, { rooms: ['hb'] });
    await received(log, 23);
    assert.deepEqual(view(log), [
      kConnected, 1, 2, kDisconnected, ...range(3, 12), kRecovered, kDisconnected, ...range(13, 22), kRecovered, 23,
    ]);
    assertOffsets(log);
  });
});

// ================================================================ a short window

describe('a short window (ROOMCAST_RECOVERY_WINDOW_MS=1000)', () => {
  const kShortMs = 1000;
  const fx = useRoomcastd([], { env: { ROOMCAST_RECOVERY_WINDOW_MS: String(kShortMs) } });

  it('within the window: recovered; after it: a fresh session with a new id, no rooms, nothing replayed', kTestTimeout, async (t) => {
    const { proxy, socket, log, id } = await clientAfterFirstEvent(t, fx, 'short');
    await cutAndReconnect(proxy, socket, () => emitNumbered(fx.port, 2, 3, { rooms: ['short'] }));
    assert.equal(socket.recovered, true, 'recovered within the window');
    assert.equal(socket.id, id);
    await received(log, 3);

    const away = await cutAndReconnect(proxy, socket, async () => {
      await emitNumbered(fx.port, 4, 6, { rooms: ['short'] });
      await sleep(kShortMs + 1500);
    });
    assert.ok(away.connectedAt - away.disconnectedAt > kShortMs + 1000, 'away for longer than the window');
    assert.equal(socket.recovered, false, 'not recovered after the window');
    assert.notEqual(socket.id, id, 'a new socket id');
    assert.deepEqual(await roomsOf(socket), [], 'the old rooms are gone');
    const late = await emitNumbered(fx.port, 7, 7, { rooms: ['short'] });
    assert.equal(late.length, 1);
    await sleep(300);
    assert.deepEqual(view(log), [kConnected, 1, kDisconnected, 2, 3, kRecovered, kDisconnected, kConnected]);

    // The new session is recoverable in its turn.
    const freshId = socket.id;
    await join(socket, 'short-2');
    await cutAndReconnect(proxy, socket, () => emitNumbered(fx.port, 8, 9, { rooms: ['short-2'] }));
    assert.equal(socket.recovered, true, 'the fresh session recovers');
    assert.equal(socket.id, freshId);
    await received(log, 5);
    assert.deepEqual(view(log).slice(-4), [kDisconnected, 8, 9, kRecovered]);
  });
});

// ================================================================ a small log

describe('an offset the log no longer holds (--event_log_size=5)', () => {
  const fx = useRoomcastd([`--recovery_window_ms=${kWindowMs}`, '--event_log_size=5']);

  it('a gap the log still holds is replayed; one it dropped gives a fresh session, not a silent loss', kTestTimeout, async (t) => {
    const { proxy, socket, log, id } = await clientAfterFirstEvent(t, fx, 'small');
    await cutAndReconnect(proxy, socket, () => emitNumbered(fx.port, 2, 4, { rooms: ['small'] }));
    assert.equal(socket.recovered, true, '3 missed events fit in a log of 5');
    await received(log, 4);

    await cutAndReconnect(proxy, socket, () => emitNumbered(fx.port, 5, 16, { rooms: ['small'] }));
    await sleep(300);
    assert.equal(socket.recovered, false, `12 missed events do not fit in a log of 5: ${JSON.stringify(view(log))}`);
    assert.notEqual(socket.id, id);
    assert.deepEqual(view(log), [kConnected, 1, kDisconnected, 2, 3, 4, kRecovered, kDisconnected, kConnected]);
  });
});

// ================================================================ with authentication

describe('recovery with JWT authentication (JWT_SECRET)', () => {
  const fx = useRoomcastd([`--recovery_window_ms=${kWindowMs}`], { env: { JWT_SECRET: kSecret } });
  const token = (sub, extra = {}) => sign({ sub, rooms: ['team'], exp: now() + 600, ...extra });

  /** A client as `sub` in room "team" that received event 1, cut off while events 2..4 go to "team" and its user room. */
  async function awayClient(t, sub) {
    const c = await proxiedClient(t, fx, { opts: { auth: { token: token(sub) } } });
    assert.deepEqual(await emitWithAck(c.socket, 'join', 'team'), { ok: true, rooms: ['team', `user:${sub}`] });
    await emitNumbered(fx.port, 1, 1, { rooms: ['team'] });
    await received(c.log, 1, { settleMs: 0 });
    await cutOff(c.proxy, c.socket);
    await emitNumbered(fx.port, 2, 3, { rooms: ['team'] });
    await emitNumbered(fx.port, 4, 4, { rooms: [`user:${sub}`] });
    return c;
  }

  it('a new valid token for the same user recovers the session, its rooms and user room', kTestTimeout, async (t) => {
    const { proxy, socket, log } = await awayClient(t, 'alice');
    const id = log[0].id;
    socket.auth = { token: token('alice', { iat: now() - 5 }) };
    await letBackIn(proxy, socket);
    assert.equal(socket.recovered, true);
    assert.equal(socket.id, id);
    assert.deepEqual(await roomsOf(socket), ['team', 'user:alice']);
    await received(log, 4);
    assert.deepEqual(view(log), [kConnected, 1, kDisconnected, 2, 3, 4, kRecovered]);
    assertOffsets(log);
  });

  it('a token for another user gets a fresh session: new id, only its own user room, nothing replayed', kTestTimeout, async (t) => {
    const { proxy, socket, log } = await awayClient(t, 'carol');
    const id = log[0].id;
    socket.auth = { token: token('mallory') };
    await letBackIn(proxy, socket);
    assert.equal(socket.recovered, false, 'another user does not take over the session');
    assert.notEqual(socket.id, id);
    assert.deepEqual(await roomsOf(socket), ['user:mallory']);
    await postEmit(fx.port, { event: 'n', rooms: ['user:carol'], data: 5 });
    await postEmit(fx.port, { event: 'n', rooms: ['user:mallory'], data: 6 });
    await received(log, 2);
    assert.deepEqual(view(log), [kConnected, 1, kDisconnected, kConnected, 6]);
  });

  it('an expired token is refused with CONNECT_ERROR, nothing is replayed before the refusal, and a fresh token then recovers', kTestTimeout, async (t) => {
    const { proxy, socket, log } = await awayClient(t, 'dave');
    const packets = [];
    socket.io.on('packet', (packet) => packets.push(packet));
    socket.auth = { token: sign({ sub: 'dave', rooms: ['team'], exp: now() - 3600 }) };
    // The server's refusal; attempts the proxy turned away raise connect_error too.
    const refusal = new Promise((resolve) => {
      const onError = (err) => {
        if (/^(websocket error|timeout)$/.test(err.message)) return;
        socket.off('connect_error', onError);
        resolve(err);
      };
      socket.on('connect_error', onError);
    });
    proxy.refuse(false);
    const err = await withTimeout(refusal, 10000, 'the CONNECT_ERROR');
    assert.equal(err.message, 'token expired');
    await sleep(300);
    const forRoot = packets.filter((p) => p.nsp === '/');
    assert.deepEqual(forRoot.map((p) => p.type), [4], `only a CONNECT_ERROR for "/": ${JSON.stringify(forRoot)}`);
    assert.equal(socket.connected, false);
    assert.deepEqual(view(log), [kConnected, 1, kDisconnected]);
    // The app refreshes its token and connects again: the session waited for it.
    socket.auth = { token: token('dave', { iat: now() - 5 }) };
    const back = new Promise((resolve) => socket.once('connect', resolve));
    socket.connect();
    await withTimeout(back, 10000, 'the reconnect with a fresh token');
    assert.equal(socket.recovered, true);
    assert.equal(socket.id, log[0].id);
    await received(log, 4);
    assert.deepEqual(view(log), [kConnected, 1, kDisconnected, 2, 3, 4, kRecovered]);
  });
});

// ================================================================ the window off

describe('recovery off by default (no --recovery_window_ms)', () => {
  const fx = useRoomcastd(['--namespaces=/,/other']);

  it('CONNECT replies {sid} only; events carry no offset; a pid in CONNECT is ignored', kTestTimeout, async (t) => {
    const raw = await rawConnect(fx.port);
    t.after(() => raw.close());
    const { reply } = await readUntilConnect(raw);
    assert.deepEqual(Object.keys(reply), ['sid'], `CONNECT reply ${JSON.stringify(reply)}`);
    await postEmit(fx.port, { event: 'w', data: 'plain' });
    assert.deepEqual(await nextEvent(raw), ['w', 'plain']);
    raw.close();
    await sleep(100);
    const again = await rawConnect(fx.port, { pid: 'whatever', offset: '1' });
    t.after(() => again.close());
    const second = await readUntilConnect(again);
    assert.deepEqual(second.before, []);
    assert.deepEqual(Object.keys(second.reply), ['sid']);
    assert.notEqual(second.reply.sid, reply.sid);
  });

  it('a transport close gives a fresh session: new id, no rooms, missed events gone', kTestTimeout, async (t) => {
    const { proxy, socket, log, id } = await clientAfterFirstEvent(t, fx, 'off');
    assert.deepEqual(log[1].args, [1], 'no trailing offset argument');
    await cutAndReconnect(proxy, socket, () => emitNumbered(fx.port, 2, 3, { rooms: ['off'] }));
    assert.ok(!socket.recovered, 'not recovered');
    assert.notEqual(socket.id, id);
    assert.deepEqual(await roomsOf(socket), []);
    await postEmit(fx.port, { event: 'n', data: 4 });
    await received(log, 2);
    assert.deepEqual(view(log), [kConnected, 1, kDisconnected, kConnected, 4]);
  });
});
