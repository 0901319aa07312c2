// Browsers talk back (issue 13), on one node: events a real socket.io-client
// sends reach services over real grpc-js ReceiveClientEvents streams, and
// AckClientEvent (gRPC or POST /v1/client-events:ack) completes the browser's
// ack callback. Groups share events exactly once, filters by event and
// namespace, `unavailable` when nobody takes an event, `timeout` when a
// service stays silent, presence (lifecycle), binary arguments, identities of
// authenticated sockets, a slow consumer cut with RESOURCE_EXHAUSTED, the
// per-socket rate limit first, INTERNAL_API_KEY, SIGTERM (UNAVAILABLE,
// draining) and EmitWithAck (services ask browsers and wait).
// Cross-node: client_events_cluster.test.js; Chromium: e2e/client_events.test.js.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clearAuthEnv, kSecret, sign } from '../support/auth.js';
import {
  Code, api, assertRpcError, okJson, parsePrometheus, pollUntil, sampleValue, show, useControlServer,
} from '../support/control.js';
import { stopServer } from '../support/fixtures.js';
import { Reflection, fromProto3Json, grpcError, grpcTarget, metadataOf } from '../support/grpc.js';
import { startRoomcastd } from '../support/process.js';
import { baseUrl, connect, join, kStepTimeoutMs, sleep, withTimeout } from '../support/sio.js';

clearAuthEnv();

// ------------------------------------------------------------------ helpers

const kMethod = '/roomcast.v1.Roomcast/ReceiveClientEvents';

/** The Roomcast service from the server's reflection data; close() ends both channels. */
async function openControl(grpcPort, { headers } = {}) {
  const reflection = new Reflection(grpcTarget(grpcPort), { headers });
  const svc = await reflection.service('roomcast.v1.Roomcast', { headers });
  return {
    svc,
    call: (method, json, opts) => svc.call(method, json, opts),
    close() {
      svc.close();
      reflection.close();
    },
  };
}

/**
 * One ReceiveClientEvents call on grpc-js. `events` holds every ClientEvent
 * read (snake_case fields, args parsed into `args`); `ready` resolves on the
 * initial metadata (the stream is registered then); `ended` resolves the
 * call's error (code, details) or its OK status. With `paused`, nothing is
 * read until resume(): the HTTP/2 window fills and the server's outbox grows.
 */
class EventStream {
  constructor(control, request = {}, { headers, paused = false, onEvent } = {}) {
    const { svc } = control;
    const method = svc.service.methods.ReceiveClientEvents;
    const reqType = svc.root.lookupType(method.requestType);
    const resType = svc.root.lookupType(method.responseType);
    this.events = [];
    this.onEvent = onEvent;
    this.call = svc.client.makeServerStreamRequest(
      kMethod,
      (o) => Buffer.from(reqType.encode(reqType.fromObject(o)).finish()),
      (b) => resType.toObject(resType.decode(b), { longs: String, defaults: true }),
      fromProto3Json(reqType, request),
      metadataOf(headers ?? svc.headers),
      {},
    );
    this.error = null;
    this.ended = new Promise((resolve) => {
      this.call.on('error', (err) => {
        this.error = err;
        resolve(err);
      });
      this.call.on('status', (status) => resolve(status));
    });
    this.ready = withTimeout(new Promise((resolve, reject) => {
      this.call.once('metadata', resolve);
      this.ended.then((s) => reject(new Error(`stream ended before its metadata: ${s.code} ${s.details}`)));
    }), kStepTimeoutMs, 'the stream\'s initial metadata');
    this.ready.catch(() => {});
    this.onData = (ev) => {
      ev.args = JSON.parse(ev.args_json.toString() || '[]');
      this.events.push(ev);
      this.onEvent?.(ev, this);
    };
    if (!paused) this.call.on('data', this.onData);
  }

  resume() {
    this.call.on('data', this.onData);
  }

  /** Events of kind 'event' named `name` (all events when omitted). */
  named(name) {
    return this.events.filter((e) => e.kind === 'event' && (name === undefined || e.event === name));
  }

  /** Waits for the first event matching `pred`; resolves it. */
  async next(pred, { timeoutMs = kStepTimeoutMs, what = 'a client event' } = {}) {
    return pollUntil(() => this.events.find(pred), { timeoutMs, intervalMs: 10, what });
  }

  /** Waits until `n` events match `pred`; resolves them. */
  async count(pred, n, { timeoutMs = kStepTimeoutMs } = {}) {
    return pollUntil(() => {
      const got = this.events.filter(pred);
      return got.length >= n ? got : null;
    }, { timeoutMs, intervalMs: 10, what: `${n} events on the stream (have ${this.events.filter(pred).length})` });
  }

  cancel() {
    this.call.cancel();
  }
}

/**
 * Opens a stream and waits for its metadata; the test's end cancels it and
 * waits until the server no longer counts it, so the next test starts clean.
 */
const openStreams = new Set();
async function openStream(t, port, control, request, options) {
  const stream = new EventStream(control, request, options);
  openStreams.add(stream);
  t.after(async () => {
    stream.cancel();
    openStreams.delete(stream);
    await pollUntil(async () => Number((await status(port)).clientEvents.streams) <= openStreams.size,
      { what: 'the stream to be gone' });
  });
  await stream.ready;
  return stream;
}

/** Emits `event` with `args` and resolves every argument of the ack callback. */
function ask(socket, event, args = [], ms = kStepTimeoutMs) {
  return new Promise((resolve, reject) => {
    socket.timeout(ms).emit(event, ...args, (err, ...reply) => (
      err ? reject(new Error(`no ack for "${event}" within ${ms} ms`)) : resolve(reply)));
  });
}

const ackArgs = (control, id, args, opts) => control.call('AckClientEvent', { id, args }, opts);

async function status(port, headers) {
  return okJson(await api(port, 'GET', '/v1/status', undefined, { headers }));
}

async function metric(port, name, labels = {}) {
  const res = await api(port, 'GET', '/metrics');
  assert.equal(res.status, 200, show(res));
  return sampleValue(parsePrometheus(res.body), name, labels);
}

/** A google.protobuf.Value (protobufjs object, oneofs) as plain JSON. */
function fromValue(v) {
  switch (v.kind) {
    case 'null_value': return null;
    case 'number_value': return v.number_value;
    case 'string_value': return v.string_value;
    case 'bool_value': return v.bool_value;
    case 'struct_value': return Object.fromEntries(Object.entries(v.struct_value.fields ?? {}).map(([k, x]) => [k, fromValue(x)]));
    case 'list_value': return (v.list_value.values ?? []).map(fromValue);
    default: throw new Error(`not a Value: ${JSON.stringify(v)}`);
  }
}

const kUnavailable = { ok: false, error: { code: 'unavailable' } };
/** The error ack's shape, message aside. */
function errorCode(reply) {
  assert.equal(reply.length, 1, `one argument in an error ack: ${JSON.stringify(reply)}`);
  const [first] = reply;
  assert.equal(first?.ok, false, JSON.stringify(reply));
  assert.equal(typeof first.error?.code, 'string', JSON.stringify(reply));
  return first.error.code;
}

const kWs = { transports: ['websocket'] };

// ------------------------------------------------------------ one main node

describe('one node: streams and acks', () => {
  const fx = useControlServer(['--namespaces=/,/other', '--client_ack_timeout_ms=4000']);
  const g = {};
  before(async () => {
    await fx.ready;
    g.control = await openControl(fx.grpcPort);
    g.nodeId = (await status(fx.port)).nodeId;
  });
  after(() => g.control?.close());

  const client = async (t, opts = {}, nsp) => {
    const socket = await fx.connect({ ...kWs, ...opts }, { nsp });
    t.after(() => socket.close());
    return socket;
  };
  const stream = (t, request, options) => openStream(t, fx.port, g.control, request, options);

  it('a stream gets the event with its args, socket, rooms, node, time; AckClientEvent (args) answers the callback', async (t) => {
    const s = await client(t, { auth: { rooms: ['room-b', 'room-a'] } });
    const st = await stream(t, { events: ['chat:send'] });
    const before = Date.now();
    const reply = ask(s, 'chat:send', [{ text: 'hi ✓', n: [1, 2.5] }, 7]);
    const ev = await st.next((e) => e.event === 'chat:send');
    const after = Date.now();
    assert.equal(ev.kind, 'event');
    assert.equal(ev.namespace, '/');
    assert.deepEqual(ev.args, [{ text: 'hi ✓', n: [1, 2.5] }, 7]);
    assert.equal(ev.socket_id, s.id);
    assert.deepEqual([...ev.rooms].sort(), ['room-a', 'room-b'], 'its rooms, own id room excluded');
    assert.equal(ev.wants_ack, true);
    assert.equal(ev.node_id, g.nodeId);
    assert.ok(ev.id.startsWith(`${g.nodeId}.`), `id "${ev.id}" is <node>.<n>`);
    assert.ok(Number(ev.time_ms) >= before - 5 && Number(ev.time_ms) <= after + 5, `time_ms ${ev.time_ms} in [${before}, ${after}]`);
    assert.equal(ev.user_id, '', 'anonymous socket: no user id');
    assert.equal(ev.claims_json.length, 0, 'anonymous socket: no claims');
    assert.deepEqual(ev.attachments, []);

    const args = [{ stored: true, at: 'x' }, 'second', null, 3.5, [true]];
    assert.deepEqual(await ackArgs(g.control, ev.id, args), {});
    assert.deepEqual(await reply, args, 'the callback gets every ack argument');

    // Without a callback the service hears it does not need to answer.
    s.emit('chat:send', 'fire and forget');
    const loose = await st.next((e) => e.args[0] === 'fire and forget');
    assert.equal(loose.wants_ack, false);
    assert.notEqual(loose.id, ev.id);
  });

  it('acks through argsJson over gRPC, and through POST /v1/client-events:ack (args and argsJson)', async (t) => {
    const s = await client(t);
    const st = await stream(t, { events: ['ack:forms'] });
    const forms = [
      ['grpc argsJson', (id) => g.control.call('AckClientEvent', { id, argsJson: Buffer.from('[{"raw":"json","u":"日本"},[1,null]]') }),
        [{ raw: 'json', u: '日本' }, [1, null]]],
      ['http args', async (id) => okJson(await api(fx.port, 'POST', '/v1/client-events:ack', { id, args: [{ via: 'http' }, 42] })),
        [{ via: 'http' }, 42]],
      ['http argsJson', async (id) => okJson(await api(fx.port, 'POST', '/v1/client-events:ack',
        { id, argsJson: Buffer.from('["b64",{"k":false}]').toString('base64') })), ['b64', { k: false }]],
      ['grpc no arguments', (id) => g.control.call('AckClientEvent', { id }), []],
    ];
    for (const [what, send, expected] of forms) {
      const reply = ask(s, 'ack:forms', [what]);
      const ev = await st.next((e) => e.args[0] === what, { what });
      assert.deepEqual(await send(ev.id), {}, what);
      assert.deepEqual(await reply, expected, what);
    }
  });

  it('a second ack is FAILED_PRECONDITION (gRPC and HTTP 400); an unknown id NOT_FOUND (gRPC 5, HTTP 404)', async (t) => {
    const s = await client(t);
    const st = await stream(t, { events: ['ack:twice'] });
    const reply = ask(s, 'ack:twice', []);
    const ev = await st.next((e) => e.event === 'ack:twice');
    await ackArgs(g.control, ev.id, ['first']);
    assert.deepEqual(await reply, ['first']);
    const again = await grpcError(ackArgs(g.control, ev.id, ['second']));
    assert.equal(again.code, Code.FAILED_PRECONDITION, again.message);
    assertRpcError(await api(fx.port, 'POST', '/v1/client-events:ack', { id: ev.id, args: ['third'] }), 400,
      { code: Code.FAILED_PRECONDITION });

    for (const id of [`${g.nodeId}.999999999`, 'no-such-node.1', 'garbage']) {
      const err = await grpcError(ackArgs(g.control, id, [1]));
      assert.equal(err.code, Code.NOT_FOUND, `${id}: ${err.message}`);
      assertRpcError(await api(fx.port, 'POST', '/v1/client-events:ack', { id, args: [1] }), 404, { code: Code.NOT_FOUND });
    }
  });

  it('groups: two streams of group "a" split 100 events exactly once, group "b" gets all 100', async (t) => {
    const s = await client(t);
    const a1 = await stream(t, { events: ['grp:evt'], group: 'a' });
    const a2 = await stream(t, { events: ['grp:evt'], group: 'a' });
    const b = await stream(t, { events: ['grp:evt'], group: 'b' });
    const n = 100;
    for (let i = 0; i < n; ++i) s.emit('grp:evt', i);
    const total = () => a1.named('grp:evt').length + a2.named('grp:evt').length;
    await pollUntil(() => total() >= n && b.named('grp:evt').length >= n,
      { timeoutMs: 8000, intervalMs: 20, what: `${n} events in each group (a: ${total()}, b: ${b.named('grp:evt').length})` });
    await sleep(300); // for duplicates to show up
    const payloads = (st) => st.named('grp:evt').map((e) => e.args[0]);
    const inA = [...payloads(a1), ...payloads(a2)].sort((x, y) => x - y);
    const expected = Array.from({ length: n }, (_, i) => i);
    assert.deepEqual(inA, expected, 'group a: each event exactly once over its two streams');
    assert.ok(payloads(a1).length > 0 && payloads(a2).length > 0,
      `both streams of group a get some (${payloads(a1).length} / ${payloads(a2).length})`);
    assert.deepEqual([...payloads(b)].sort((x, y) => x - y), expected, 'group b: all of them');
    // The ids: one per event, the same one in both groups.
    const idsA = new Set([...a1.named('grp:evt'), ...a2.named('grp:evt')].map((e) => e.id));
    assert.equal(idsA.size, n);
    assert.deepEqual(new Set(b.named('grp:evt').map((e) => e.id)), idsA);
  });

  it('filters by event name: a stream sees only its events; an event nobody asked for is unavailable', async (t) => {
    const s = await client(t);
    const st = await stream(t, { events: ['only:this', 'and:that'] });
    const replies = await Promise.all([
      ask(s, 'not:this', ['x']),
      (async () => {
        const r = ask(s, 'only:this', ['y']);
        await ackArgs(g.control, (await st.next((e) => e.event === 'only:this')).id, ['took only:this']);
        return r;
      })(),
      (async () => {
        const r = ask(s, 'and:that', ['z']);
        await ackArgs(g.control, (await st.next((e) => e.event === 'and:that')).id, ['took and:that']);
        return r;
      })(),
    ]);
    assert.equal(errorCode(replies[0]), 'unavailable');
    assert.deepEqual(replies[1], ['took only:this']);
    assert.deepEqual(replies[2], ['took and:that']);
    await sleep(200);
    assert.deepEqual(st.events.map((e) => e.event).sort(), ['and:that', 'only:this']);
  });

  it('filters by namespace: a stream on "/" does not see "/other" events, and the reverse', async (t) => {
    const root = await client(t);
    const other = await client(t, {}, '/other');
    const onRoot = await stream(t, { events: ['ns:evt'] });
    const onOther = await stream(t, { namespace: '/other', events: ['ns:evt'] });
    root.emit('ns:evt', 'from root');
    other.emit('ns:evt', 'from other');
    const a = await onRoot.next((e) => e.event === 'ns:evt');
    const b = await onOther.next((e) => e.event === 'ns:evt');
    await sleep(300);
    assert.deepEqual(onRoot.events.map((e) => e.args[0]), ['from root']);
    assert.deepEqual(onOther.events.map((e) => e.args[0]), ['from other']);
    assert.equal(a.namespace, '/');
    assert.equal(b.namespace, '/other');
    assert.equal(b.socket_id, other.id);
  });

  it('a namespace that is not configured is INVALID_ARGUMENT', async () => {
    const st = new EventStream(g.control, { namespace: '/nope' });
    const end = await withTimeout(st.ended, kStepTimeoutMs, 'the stream to end');
    assert.equal(end.code, Code.INVALID_ARGUMENT, end.details);
  });

  it('no stream: the ack is unavailable at once, counted in Status and /metrics', async (t) => {
    const s = await client(t);
    const before = await status(fx.port);
    assert.equal(before.clientEvents.streams, '0');
    const metricBefore = await metric(fx.port, 'roomcast_client_events_unavailable_total');
    const started = Date.now();
    const replies = await Promise.all(Array.from({ length: 3 }, (_, i) => ask(s, 'nobody:home', [i])));
    const took = Date.now() - started;
    for (const reply of replies) {
      assert.equal(errorCode(reply), 'unavailable');
      assert.deepEqual({ ...reply[0], error: { code: reply[0].error.code } }, kUnavailable);
    }
    assert.ok(took < 1000, `answered at once (${took} ms)`);
    const afterStatus = await status(fx.port);
    assert.equal(BigInt(afterStatus.counters.clientEventsUnavailable) - BigInt(before.counters.clientEventsUnavailable), 3n,
      JSON.stringify(afterStatus.counters));
    assert.equal(await metric(fx.port, 'roomcast_client_events_unavailable_total'), metricBefore + 3);
    assert.equal(afterStatus.clientEvents.pendingAcks, '0');
  });

  it('lifecycle: connect, join (rooms, [["r1"]]), leave, disconnect with its reason', async (t) => {
    const st = await stream(t, { lifecycle: true, events: ['lc:nothing'] });
    const s = await connect(fx.url(), kWs);
    t.after(() => s.close());
    const id = s.id;
    const mine = (kind) => (e) => e.socket_id === id && e.kind === kind;
    const connected = await st.next(mine('connect'), { what: 'connect' });
    assert.equal(connected.namespace, '/');
    assert.equal(connected.wants_ack, false);
    await join(s, 'r1');
    const joined = await st.next(mine('join'), { what: 'join' });
    assert.deepEqual(joined.args, [['r1']]);
    assert.deepEqual(joined.rooms, ['r1']);
    await join(s, ['r2', 'r3']);
    const joined2 = await st.next((e) => mine('join')(e) && e.id !== joined.id, { what: 'second join' });
    assert.deepEqual([...joined2.args[0]].sort(), ['r2', 'r3']);
    const left = await ask(s, 'leave', ['r1']);
    assert.equal(left[0].ok, true);
    const leave = await st.next(mine('leave'), { what: 'leave' });
    assert.deepEqual(leave.args, [['r1']]);
    assert.deepEqual([...leave.rooms].sort(), ['r2', 'r3']);
    s.disconnect();
    const gone = await st.next(mine('disconnect'), { what: 'disconnect' });
    assert.equal(gone.reason, 'client namespace disconnect');
    const kinds = st.events.filter((e) => e.socket_id === id).map((e) => e.kind);
    assert.deepEqual(kinds, ['connect', 'join', 'join', 'leave', 'disconnect'], 'in order, and no event of the filter');
    const ids = st.events.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'ids are unique');
  });

  it('a stream without lifecycle gets no presence', async (t) => {
    const st = await stream(t, {});
    const s = await connect(fx.url(), kWs);
    await join(s, 'quiet');
    s.emit('plain:one', 1);
    await st.next((e) => e.event === 'plain:one');
    s.close();
    await sleep(300);
    assert.deepEqual(st.events.map((e) => e.kind), ['event']);
  });

  it('binary: a Buffer from the browser arrives in attachments with its placeholder in args_json', async (t) => {
    const s = await client(t);
    const st = await stream(t, { events: ['bin:up'] });
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
    const other = Buffer.from('second attachment');
    const reply = ask(s, 'bin:up', [{ name: 'f.bin', data: bytes }, other]);
    const ev = await st.next((e) => e.event === 'bin:up');
    assert.equal(ev.args_json.toString(),
      '[{"name":"f.bin","data":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1}]');
    assert.equal(ev.attachments.length, 2);
    assert.deepEqual(Buffer.from(ev.attachments[0]), bytes);
    assert.deepEqual(Buffer.from(ev.attachments[1]), other);
    await ackArgs(g.control, ev.id, [{ size: bytes.length }]);
    assert.deepEqual(await reply, [{ size: 6 }]);
  });

  it('binary ack arguments from a service', async (t) => {
    const reqType = g.control.svc.root.lookupType('roomcast.v1.AckClientEventRequest');
    if (!reqType.fieldsArray.some((f) => f.type === 'bytes' && f.repeated)) {
      t.skip('AckClientEventRequest has no attachments: a service cannot ack with binary');
    }
  });

  it('EmitWithAck to a room: two sockets answer, one never does (gRPC and HTTP); to one socket by id', async (t) => {
    const room = 'ask-room';
    const yes = await client(t, { auth: { rooms: [room] } });
    const also = await client(t, { auth: { rooms: [room] } });
    const silent = await client(t, { auth: { rooms: [room] } });
    await client(t, { auth: { rooms: ['elsewhere'] } });
    yes.on('question', (data, cb) => cb('yes', data));
    also.on('question', (data, cb) => cb({ n: data.n + 1 }, Buffer.from([7, 8])));
    let silentHeard = 0;
    silent.on('question', () => { silentHeard += 1; }); // takes no callback: never acks

    const started = Date.now();
    const res = await g.control.call('EmitWithAck', { room, event: 'question', data: { n: 1 }, timeoutMs: 700 });
    const took = Date.now() - started;
    assert.ok(took >= 600 && took < 2500, `waits about timeoutMs for the silent socket (${took} ms)`);
    const bySocket = Object.fromEntries(res.replies.map((r) => [r.socket_id, r]));
    assert.deepEqual(Object.keys(bySocket).sort(), [yes.id, also.id].sort());
    assert.deepEqual(bySocket[yes.id].args.values.map(fromValue), ['yes', { n: 1 }]);
    assert.deepEqual(bySocket[also.id].args.values.map(fromValue)[0], { n: 2 });
    assert.deepEqual(bySocket[also.id].args.values.map(fromValue)[1], { _placeholder: true, num: 0 });
    assert.deepEqual(Buffer.from(bySocket[also.id].attachments[0], 'base64'), Buffer.from([7, 8]));
    assert.deepEqual(res.timed_out, [silent.id]);
    assert.equal(silentHeard, 1, 'the silent socket got the event');

    const http = okJson(await api(fx.port, 'POST', '/v1/emit:withAck',
      { room, event: 'question', data: { n: 10 }, timeoutMs: 500 }));
    const httpBy = Object.fromEntries(http.replies.map((r) => [r.socketId, r.args]));
    assert.deepEqual(httpBy[yes.id], ['yes', { n: 10 }]);
    assert.deepEqual(httpBy[also.id][0], { n: 11 });
    assert.deepEqual(http.timedOut, [silent.id]);

    const one = await g.control.call('EmitWithAck', { socketId: yes.id, event: 'question', dataJson: Buffer.from('{"n":5}'), timeoutMs: 2000 });
    assert.deepEqual(one.replies.map((r) => [r.socket_id, r.args.values.map(fromValue)]), [[yes.id, ['yes', { n: 5 }]]]);
    assert.deepEqual(one.timed_out, []);

    const nobody = okJson(await api(fx.port, 'POST', '/v1/emit:withAck', { room: 'empty-room', event: 'question', data: 1, timeoutMs: 300 }));
    assert.deepEqual(nobody.replies ?? [], []);
    assert.deepEqual(nobody.timedOut ?? [], []);
  });

  it('Status shows the streams open and the acks waiting; acks are counted', async (t) => {
    const s = await client(t);
    const st = await stream(t, { events: ['st:evt'] });
    const before = await status(fx.port);
    assert.equal(before.clientEvents.streams, '1');
    const reply = ask(s, 'st:evt', []);
    const ev = await st.next((e) => e.event === 'st:evt');
    assert.equal((await status(fx.port)).clientEvents.pendingAcks, '1');
    const acksBefore = await metric(fx.port, 'roomcast_client_acks_total');
    await ackArgs(g.control, ev.id, ['done']);
    await reply;
    const later = await status(fx.port);
    assert.equal(later.clientEvents.pendingAcks, '0');
    assert.equal(BigInt(later.counters.clientAcks) - BigInt(before.counters.clientAcks), 1n);
    assert.equal(await metric(fx.port, 'roomcast_client_acks_total'), acksBefore + 1);
  });
});

// ---------------------------------------------------------- separate servers

/** Starts roomcastd with `flags`, opens its control client; stopped by the test's end. */
async function server(t, flags, options = {}) {
  const srv = await startRoomcastd(flags, options);
  t.after(() => stopServer(srv));
  const control = await openControl(srv.grpcPort, { headers: options.headers });
  t.after(() => control.close());
  const sockets = [];
  t.after(() => sockets.forEach((s) => s.close()));
  return {
    srv,
    control,
    async connect(opts = {}) {
      const s = await connect(baseUrl(srv.port), { ...kWs, ...opts });
      sockets.push(s);
      return s;
    },
  };
}

describe('a service that stays silent', () => {
  it('the browser hears timeout after --client_ack_timeout_ms; a late ack is NOT_FOUND; counted', async (t) => {
    const { srv, control, connect: sio } = await server(t, ['--client_ack_timeout_ms=300']);
    const s = await sio();
    const st = new EventStream(control, { events: ['slow:answer'] });
    t.after(() => st.cancel());
    await st.ready;
    const started = Date.now();
    const replies = await Promise.all([ask(s, 'slow:answer', [1]), ask(s, 'slow:answer', [2])]);
    const took = Date.now() - started;
    for (const reply of replies) assert.equal(errorCode(reply), 'timeout');
    assert.ok(took >= 250 && took < 2000, `about 300 ms (${took} ms)`);
    assert.equal(st.named('slow:answer').length, 2);
    await sleep(100);
    for (const ev of st.named('slow:answer')) {
      const err = await grpcError(ackArgs(control, ev.id, ['too late']));
      assert.equal(err.code, Code.NOT_FOUND, err.message);
    }
    const body = await status(srv.port);
    assert.equal(body.counters.clientAcksTimedOut, '2', JSON.stringify(body.counters));
    assert.equal(body.clientEvents.pendingAcks, '0');
    assert.equal(await metric(srv.port, 'roomcast_client_acks_timed_out_total'), 2);
  });
});

describe('authenticated sockets', () => {
  it('a stream gets userId and claimsJson; EmitWithAck by userId reaches every tab of the user', async (t) => {
    const { control, connect: sio } = await server(t, [], { env: { JWT_SECRET: kSecret } });
    const claims = { sub: 'user-42', name: 'Ada', rooms: ['team:*'] };
    const tab1 = await sio({ auth: { token: sign(claims) } });
    const tab2 = await sio({ transports: ['polling'], auth: { token: sign(claims) } });
    const other = await sio({ auth: { token: sign({ sub: 'user-7' }) } });
    const st = new EventStream(control, { events: ['who:am:i'] });
    t.after(() => st.cancel());
    await st.ready;
    tab1.emit('who:am:i', 1);
    const ev = await st.next((e) => e.event === 'who:am:i');
    assert.equal(ev.user_id, 'user-42');
    const got = JSON.parse(ev.claims_json.toString());
    assert.equal(got.sub, 'user-42');
    assert.equal(got.name, 'Ada');
    assert.deepEqual(got.rooms, ['team:*']);
    assert.ok(ev.rooms.includes('user:user-42'), `user room in ${JSON.stringify(ev.rooms)}`);

    for (const [i, s] of [tab1, tab2, other].entries()) s.on('ping:user', (data, cb) => cb(`tab${i}`, data));
    const res = await control.call('EmitWithAck', { userId: 'user-42', event: 'ping:user', data: 'hello', timeoutMs: 2000 });
    assert.deepEqual(res.replies.map((r) => [r.socket_id, r.args.values.map(fromValue)]).sort(),
      [[tab1.id, ['tab0', 'hello']], [tab2.id, ['tab1', 'hello']]].sort());
    assert.deepEqual(res.timed_out, []);
  });
});

describe('INTERNAL_API_KEY', () => {
  it('ReceiveClientEvents without the key is UNAUTHENTICATED; with it the stream works', async (t) => {
    const key = 'client-events-key-3c9d';
    const auth = { authorization: `Bearer ${key}` };
    const { control, connect: sio } = await server(t, [], { env: { INTERNAL_API_KEY: key }, headers: auth });
    for (const headers of [{}, { authorization: 'Bearer wrong' }]) {
      const denied = new EventStream(control, { events: ['key:evt'] }, { headers });
      const end = await withTimeout(denied.ended, kStepTimeoutMs, 'the refused stream to end');
      assert.equal(end.code, Code.UNAUTHENTICATED, `${JSON.stringify(headers)}: ${end.details}`);
    }
    const s = await sio();
    // Refused streams take nothing.
    assert.equal(errorCode(await ask(s, 'key:evt', [])), 'unavailable');
    const st = new EventStream(control, { events: ['key:evt'] }, { headers: { 'x-api-key': key } });
    t.after(() => st.cancel());
    await st.ready;
    const reply = ask(s, 'key:evt', ['with key']);
    const ev = await st.next((e) => e.event === 'key:evt');
    const err = await grpcError(control.call('AckClientEvent', { id: ev.id, args: [1] }, { headers: { authorization: 'Bearer nope' } }));
    assert.equal(err.code, Code.UNAUTHENTICATED, 'AckClientEvent needs the key too');
    await ackArgs(control, ev.id, ['ok with key']);
    assert.deepEqual(await reply, ['ok with key']);
  });
});

describe('the per-socket rate limit', () => {
  it('applies first: refused events get a limit ack and never reach the stream', async (t) => {
    const { control, connect: sio } = await server(t, ['--client_events_per_s=5']);
    const s = await sio();
    const st = new EventStream(control, { events: ['burst:evt'] }, {
      onEvent: (ev) => ackArgs(control, ev.id, [{ took: ev.args[0] }]).catch(() => {}),
    });
    t.after(() => st.cancel());
    await st.ready;
    const n = 40;
    const replies = await Promise.all(Array.from({ length: n }, (_, i) => ask(s, 'burst:evt', [i])));
    const taken = [];
    const limited = [];
    replies.forEach((reply, i) => {
      if (reply[0]?.ok === false) {
        assert.equal(errorCode(reply), 'limit', `event ${i}: ${JSON.stringify(reply)}`);
        limited.push(i);
      } else {
        assert.deepEqual(reply, [{ took: i }], `event ${i}`);
        taken.push(i);
      }
    });
    assert.ok(limited.length >= n - 15, `most of a burst of ${n} at 5/s is refused (${limited.length} limited)`);
    assert.ok(taken.length >= 1, 'the first ones pass');
    await sleep(200);
    assert.deepEqual(st.named('burst:evt').map((e) => e.args[0]).sort((a, b) => a - b), taken,
      'the stream saw exactly the events that were not refused');
  });
});

describe('a slow consumer', () => {
  it('is cut with RESOURCE_EXHAUSTED past --client_event_stream_buffer_bytes; nothing is lost silently; the server goes on', async (t) => {
    const { srv, control, connect: sio } = await server(t,
      ['--client_event_stream_buffer_bytes=65536', '--client_events_per_s=0', '--client_ack_timeout_ms=1500']);
    const s = await sio();
    const cutBefore = await metric(srv.port, 'roomcast_client_event_streams_cut_total');
    // Reads and acks the first few events, then stops reading.
    const kAnswered = 5;
    const answered = new Set();
    const st = new EventStream(control, { events: ['big:evt'] }, {
      onEvent: (ev, self) => {
        if (answered.size < kAnswered) {
          answered.add(ev.args[0].i);
          ackArgs(control, ev.id, [{ stored: ev.args[0].i }]).catch(() => {});
          if (answered.size === kAnswered) self.call.pause();
        }
      },
    });
    await st.ready;
    const n = 300;
    const pad = 'x'.repeat(4096);
    const started = Date.now();
    const replies = [];
    for (let i = 0; i < n; ++i) {
      replies.push(ask(s, 'big:evt', [{ i, pad }], 10000).then((r) => [i, r]));
      if (i === kAnswered) await pollUntil(() => answered.size === kAnswered, { what: 'the first events answered' });
    }
    const end = await withTimeout(st.ended, 10000, 'the slow stream to be cut');

    assert.equal(end.code, Code.RESOURCE_EXHAUSTED, `${end.code} ${end.details}`);
    const all = await Promise.all(replies);
    const took = Date.now() - started;
    const codes = {};
    for (const [i, reply] of all) {
      if (answered.has(i)) {
        assert.deepEqual(reply, [{ stored: i }], `event ${i} was acked by the service`);
      } else {
        const code = errorCode(reply);
        assert.ok(['unavailable', 'timeout'].includes(code), `event ${i}: ${JSON.stringify(reply)}`);
        codes[code] = (codes[code] ?? 0) + 1;
      }
    }
    assert.equal(all.length, n, 'every event got an ack');
    t.diagnostic(`error acks by code: ${JSON.stringify(codes)}; ${took} ms`);
    assert.ok(await metric(srv.port, 'roomcast_client_event_streams_cut_total') >= cutBefore + 1);
    await pollUntil(async () => {
      const body = await status(srv.port);
      return body.clientEvents.streams === '0' && body.clientEvents.pendingAcks === '0';
    }, { what: 'no stream and no pending ack left' });

    // The server goes on: a new stream works.
    const fresh = new EventStream(control, { events: ['big:evt'] });
    t.after(() => fresh.cancel());
    await fresh.ready;
    const reply = ask(s, 'big:evt', [{ i: 'after' }]);
    const ev = await fresh.next((e) => e.args[0].i === 'after');
    await ackArgs(control, ev.id, ['fine']);
    assert.deepEqual(await reply, ['fine']);
  });
});

describe('a slow consumer: what its outbox held when it was cut', () => {
  it('is answered unavailable at the cut, not timeout after --client_ack_timeout_ms', async (t) => {
    const { srv, control, connect: sio } = await server(t,
      ['--client_event_stream_buffer_bytes=65536', '--client_events_per_s=0', '--client_ack_timeout_ms=5000']);
    const s = await sio();
    const st = new EventStream(control, { events: ['big:evt'] }, { paused: true });
    await st.ready;
    const started = Date.now();
    const pad = 'y'.repeat(4096);
    const replies = Array.from({ length: 100 }, (_, i) =>
      ask(s, 'big:evt', [{ i, pad }], 8000).then((r) => ({ code: errorCode(r), ms: Date.now() - started })));
    const end = await withTimeout(st.ended, 5000, 'the paused stream to be cut');
    assert.equal(end.code, Code.RESOURCE_EXHAUSTED);
    const answers = await Promise.all(replies);
    const codes = answers.reduce((m, a) => ({ ...m, [a.code]: (m[a.code] ?? 0) + 1 }), {});
    t.diagnostic(`codes ${JSON.stringify(codes)}`);
    // Those written into the transport before HTTP/2 flow control stopped it
    // (a 64 KiB window holds ~16 of these) reached the consumer's side, which
    // could still ack them: they time out. Every event the outbox held is
    // answered at the cut.
    assert.deepEqual(Object.keys(codes).filter((c) => c !== 'unavailable' && c !== 'timeout'), []);
    assert.ok((codes.timeout ?? 0) <= 25, `only what was written times out: ${JSON.stringify(codes)}`);
    for (const a of answers.filter((x) => x.code === 'unavailable')) {
      assert.ok(a.ms < 2500, `an unavailable answer comes at the cut (${a.ms} ms)`);
    }
    assert.equal((await status(srv.port)).counters.clientEventsUnavailable, String(codes.unavailable));
  });
});

describe('SIGTERM', () => {
  it('ends open streams with UNAVAILABLE, answers waiting browsers unavailable, Status says draining', async (t) => {
    const srv = await startRoomcastd(['--drain_grace_ms=1500', '--drain_deadline_ms=5000']);
    t.after(() => stopServer(srv));
    const control = await openControl(srv.grpcPort);
    t.after(() => control.close());
    const s = await connect(baseUrl(srv.port), kWs);
    t.after(() => s.close());
    const st = new EventStream(control, { events: ['drain:evt'] });
    t.after(() => st.cancel());
    await st.ready;
    assert.equal((await status(srv.port)).draining, false);
    const reply = ask(s, 'drain:evt', ['waiting'], 5000);
    await st.next((e) => e.event === 'drain:evt');
    assert.equal((await status(srv.port)).clientEvents.pendingAcks, '1');

    srv.child.kill('SIGTERM');
    const end = await withTimeout(st.ended, 3000, 'the stream to end on SIGTERM');
    assert.equal(end.code, Code.UNAVAILABLE, `${end.code} ${end.details}`);
    assert.equal(errorCode(await reply), 'unavailable', 'the waiting browser hears unavailable');
    const draining = await status(srv.port); // within --drain_grace_ms the listener still answers
    assert.equal(draining.draining, true, JSON.stringify(draining));
    const exit = await withTimeout(srv.exited, 8000, 'roomcastd to exit');
    assert.equal(exit.code, 0, srv.output());
  });
});
