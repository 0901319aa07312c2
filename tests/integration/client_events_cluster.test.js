// Browsers talk back across a Redis cluster (issue 13): a ReceiveClientEvents
// stream on one node gets the events browsers send on another, and the ack
// finds its way back to the browser's node; a group with a stream on each
// node shares events exactly once; EmitWithAck from one node collects the
// replies of sockets on every node; a stream's node killed with SIGKILL makes
// the others answer `unavailable` within seconds, not hang.
// One node: client_events.test.js.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster } from '../support/cluster.js';
import { Code, api, okJson, pollUntil } from '../support/control.js';
import { stopServer } from '../support/fixtures.js';
import { Reflection, fromProto3Json, grpcError, grpcTarget, metadataOf } from '../support/grpc.js';
import { redisAvailable } from '../support/redis.js';
import { kStepTimeoutMs, sleep, withTimeout } from '../support/sio.js';

for (const name of ['INTERNAL_API_KEY', 'JWT_SECRET', 'NEXTAUTH_SECRET', 'ROOMCAST_JWT_PUBLIC_KEY_FILE', 'NODE_ENV']) {
  delete process.env[name];
}

async function openControl(grpcPort) {
  const reflection = new Reflection(grpcTarget(grpcPort));
  const svc = await reflection.service('roomcast.v1.Roomcast');
  return {
    svc,
    call: (method, json, opts) => svc.call(method, json, opts),
    close() {
      svc.close();
      reflection.close();
    },
  };
}

/** A grpc-js ReceiveClientEvents call; see client_events.test.js. */
class EventStream {
  constructor(control, request = {}) {
    const { svc } = control;
    const method = svc.service.methods.ReceiveClientEvents;
    const reqType = svc.root.lookupType(method.requestType);
    const resType = svc.root.lookupType(method.responseType);
    this.events = [];
    this.call = svc.client.makeServerStreamRequest(
      '/roomcast.v1.Roomcast/ReceiveClientEvents',
      (o) => Buffer.from(reqType.encode(reqType.fromObject(o)).finish()),
      (b) => resType.toObject(resType.decode(b), { longs: String, defaults: true }),
      fromProto3Json(reqType, request),
      metadataOf({}),
      {},
    );
    this.ended = new Promise((resolve) => {
      this.call.on('error', resolve);
      this.call.on('status', resolve);
    });
    this.ready = withTimeout(new Promise((resolve, reject) => {
      this.call.once('metadata', resolve);
      this.ended.then((s) => reject(new Error(`stream ended before its metadata: ${s.code} ${s.details}`)));
    }), kStepTimeoutMs, 'the stream\'s initial metadata');
    this.ready.catch(() => {});
    this.call.on('data', (ev) => {
      ev.args = JSON.parse(ev.args_json.toString() || '[]');
      this.events.push(ev);
    });
  }

  named(name) {
    return this.events.filter((e) => e.kind === 'event' && e.event === name);
  }

  next(pred, { timeoutMs = kStepTimeoutMs, what = 'a client event' } = {}) {
    return pollUntil(() => this.events.find(pred), { timeoutMs, intervalMs: 10, what });
  }

  cancel() {
    this.call.cancel();
  }
}

function ask(socket, event, args = [], ms = kStepTimeoutMs) {
  return new Promise((resolve, reject) => {
    socket.timeout(ms).emit(event, ...args, (err, ...reply) => (
      err ? reject(new Error(`no ack for "${event}" within ${ms} ms`)) : resolve(reply)));
  });
}

function errorCode(reply) {
  assert.equal(reply.length, 1, JSON.stringify(reply));
  assert.equal(reply[0]?.ok, false, JSON.stringify(reply));
  return reply[0].error?.code;
}

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

const statusOf = async (port) => okJson(await api(port, 'GET', '/v1/status'));

/** Waits until the node on `port` counts `n` streams open on the other nodes. */
const remoteStreams = (port, n, what = `${n} remote streams`) => pollUntil(
  async () => (await statusOf(port)).clientEvents.remoteStreams === String(n), { timeoutMs: 8000, what });

const kWs = { transports: ['websocket'] };

describe('client events across a Redis cluster', { skip: !redisAvailable() && 'redis-server is not installed' }, () => {
  // Acks wait 5 s (not 10) so that the kill test's in-flight event is answered sooner.
  const cluster = useCluster({ nodes: 2, flags: ['--client_ack_timeout_ms=5000'] });
  const g = { controls: [] };
  before(async () => {
    g.controls = await Promise.all(cluster.nodes.map((n) => openControl(n.grpcPort)));
    g.nodeIds = await Promise.all(cluster.nodes.map(async (n) => (await statusOf(n.port)).nodeId));
  });
  after(() => g.controls.forEach((c) => c.close()));

  const open = [new Set(), new Set()];
  /** A stream on node `i`, in place on every node; cancelled (and gone everywhere) at the test's end. */
  async function stream(t, i, request) {
    const st = new EventStream(g.controls[i], request);
    open[i].add(st);
    t.after(async () => {
      st.cancel();
      open[i].delete(st);
      await pollUntil(async () => Number((await statusOf(cluster.port(i))).clientEvents.streams) <= open[i].size,
        { what: 'the stream gone' });
    });
    await st.ready;
    return st;
  }

  it('a stream on node A gets an event a browser sent on node B; its ack (made on A) answers the browser on B', async (t) => {
    const st = await stream(t, 0, { events: ['x:hello'] });
    await remoteStreams(cluster.port(1), 1, 'node B to hear of the stream on A');
    const s = await cluster.connect(1, { ...kWs, auth: { rooms: ['cx-room'] } });
    t.after(() => s.close());
    const before = Date.now();
    const reply = ask(s, 'x:hello', [{ from: 'B' }, 2]);
    const ev = await st.next((e) => e.event === 'x:hello');
    assert.equal(ev.node_id, g.nodeIds[1], 'the browser\'s node');
    assert.ok(ev.id.startsWith(`${g.nodeIds[1]}.`), ev.id);
    assert.equal(ev.socket_id, s.id);
    assert.deepEqual(ev.rooms, ['cx-room']);
    assert.deepEqual(ev.args, [{ from: 'B' }, 2]);
    assert.equal(ev.wants_ack, true);
    assert.ok(Number(ev.time_ms) >= before - 5 && Number(ev.time_ms) <= Date.now() + 5);
    assert.equal((await statusOf(cluster.port(1))).clientEvents.pendingAcks, '1', 'the browser\'s node keeps the pending ack');
    assert.deepEqual(await g.controls[0].call('AckClientEvent', { id: ev.id, args: [{ stored: 'on A' }, 'two'] }), {});
    assert.deepEqual(await reply, [{ stored: 'on A' }, 'two']);
    // The first ack won, wherever the second is made.
    const again = await grpcError(g.controls[1].call('AckClientEvent', { id: ev.id, args: ['again'] }));
    assert.equal(again.code, Code.FAILED_PRECONDITION, again.message);
    const twice = await grpcError(g.controls[0].call('AckClientEvent', { id: ev.id, args: ['again'] }));
    assert.equal(twice.code, Code.FAILED_PRECONDITION, twice.message);

    // An ack made over HTTP on a third place (node B itself) works too.
    const reply2 = ask(s, 'x:hello', ['second']);
    const ev2 = await st.next((e) => e.args[0] === 'second');
    okJson(await api(cluster.port(1), 'POST', '/v1/client-events:ack', { id: ev2.id, args: ['via B'] }));
    assert.deepEqual(await reply2, ['via B']);
    const unknown = await grpcError(g.controls[0].call('AckClientEvent', { id: `${g.nodeIds[1]}.987654321`, args: [] }));
    assert.equal(unknown.code, Code.NOT_FOUND, unknown.message);
  });

  it('a group with one stream on each node splits events exactly once; a lone stream gets all', async (t) => {
    const a = await stream(t, 0, { events: ['x:work'], group: 'workers' });
    const b = await stream(t, 1, { events: ['x:work'], group: 'workers' });
    const audit = await stream(t, 1, { events: ['x:work'] });
    await remoteStreams(cluster.port(0), 2, 'node A to hear of both streams on B');
    await remoteStreams(cluster.port(1), 1, 'node B to hear of the stream on A');
    const onA = await cluster.connect(0, kWs);
    const onB = await cluster.connect(1, kWs);
    t.after(() => [onA, onB].forEach((s) => s.close()));
    const n = 60;
    for (let i = 0; i < n; ++i) (i % 2 ? onA : onB).emit('x:work', i);
    const total = () => a.named('x:work').length + b.named('x:work').length;
    await pollUntil(() => total() >= n && audit.named('x:work').length >= n,
      { timeoutMs: 8000, intervalMs: 20, what: `${n} events in the group (${total()}) and the audit stream` });
    await sleep(400);
    const payloads = (st) => st.named('x:work').map((e) => e.args[0]);
    const expected = Array.from({ length: n }, (_, i) => i);
    assert.deepEqual([...payloads(a), ...payloads(b)].sort((x, y) => x - y), expected, 'each event once over the group');
    assert.ok(payloads(a).length > 0 && payloads(b).length > 0, `both nodes' streams get some (${payloads(a).length} / ${payloads(b).length})`);
    assert.deepEqual([...payloads(audit)].sort((x, y) => x - y), expected);
    // Events from each node reach the stream on the other node.
    const crossed = (st, nodeIndex) => st.named('x:work').filter((e) => e.node_id !== g.nodeIds[nodeIndex]).length;
    assert.ok(crossed(a, 0) > 0 && crossed(b, 1) > 0, 'some events crossed to the other node\'s stream');
  });

  it('EmitWithAck from node A to a room with sockets on both nodes gets every reply', async (t) => {
    const room = 'x-ask';
    const a1 = await cluster.connect(0, { ...kWs, auth: { rooms: [room] } });
    const a2 = await cluster.connect(0, { transports: ['polling'], auth: { rooms: [room] } });
    const b1 = await cluster.connect(1, { ...kWs, auth: { rooms: [room] } });
    const b2 = await cluster.connect(1, { ...kWs, auth: { rooms: [room] } });
    const bSilent = await cluster.connect(1, { ...kWs, auth: { rooms: [room] } });
    t.after(() => [a1, a2, b1, b2, bSilent].forEach((s) => s.close()));
    for (const [name, s] of Object.entries({ a1, a2, b1, b2 })) s.on('x:q', (data, cb) => cb(name, data));
    const res = await g.controls[0].call('EmitWithAck', { room, event: 'x:q', data: { q: 'ready?' }, timeoutMs: 1000 });
    const got = Object.fromEntries(res.replies.map((r) => [r.socket_id, r.args.values.map(fromValue)]));
    assert.deepEqual(got, {
      [a1.id]: ['a1', { q: 'ready?' }],
      [a2.id]: ['a2', { q: 'ready?' }],
      [b1.id]: ['b1', { q: 'ready?' }],
      [b2.id]: ['b2', { q: 'ready?' }],
    });
    assert.deepEqual(res.timed_out, [bSilent.id], 'the silent socket on node B timed out');

    // To one socket on the other node by id, over HTTP.
    const one = okJson(await api(cluster.port(0), 'POST', '/v1/emit:withAck',
      { socketId: b1.id, event: 'x:q', data: 'just you', timeoutMs: 2000 }));
    assert.deepEqual(one.replies.map((r) => ({ socketId: r.socketId, args: r.args })), [{ socketId: b1.id, args: ['b1', 'just you'] }]);
    assert.deepEqual(one.timedOut ?? [], []);
  });

  it('a traced EmitWithAck crosses nodes: the other node logs the trace and its socket\'s next event carries it', async (t) => {
    const st = await stream(t, 0, { events: ['x:traced-followup'] });
    await remoteStreams(cluster.port(1), 1, 'node B to hear of the stream on node A');
    const far = await cluster.connect(1, kWs);
    t.after(() => far.close());
    far.on('x:traced-q', (data, cb) => cb('here'));
    const traceId = '7e'.repeat(16);
    const res = await g.controls[0].call('EmitWithAck', { socketId: far.id, event: 'x:traced-q', data: 1, timeoutMs: 2000 },
      { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    assert.equal(res.replies.length, 1, JSON.stringify(res));
    // Node B, which asked the socket, logs the call in the same trace.
    const line = await pollUntil(() => cluster.nodes[1].output().split('\n')
      .find((l) => /node call method=EmitWithAck/.test(l) && l.includes(`trace_id=${traceId}`)), { what: 'node B\'s log line' });
    assert.match(line, /parent_span_id=[0-9a-f]{16}/, line);
    assert.doesNotMatch(line, /parent_span_id=00f067aa0ba902b7/, 'the parent is node A\'s span, not the caller\'s');
    far.emit('x:traced-followup', 'next');
    const ev = await st.next((e) => e.event === 'x:traced-followup', { what: 'the follow-up on node A\'s stream' });
    assert.match(ev.traceparent, new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`), ev.traceparent);
  });

  it('SIGKILL of the stream\'s node: the browser\'s node answers unavailable within seconds, never hangs', async (t) => {
    const third = await cluster.startNode();
    t.after(() => stopServer(third));
    const control = await openControl(third.grpcPort);
    t.after(() => control.close());
    const st = new EventStream(control, { events: ['x:doomed'] });
    await st.ready;
    await remoteStreams(cluster.port(1), 1, 'node B to hear of the stream on the third node');
    const s = await cluster.connect(1, kWs);
    t.after(() => s.close());
    // It works while the node lives.
    const alive = ask(s, 'x:doomed', ['alive']);
    const ev = await st.next((e) => e.args[0] === 'alive');
    await control.call('AckClientEvent', { id: ev.id, args: ['ok'] });
    assert.deepEqual(await alive, ['ok']);

    // One waiting ack at the moment of the kill, and one sent right after it.
    let killedAt = Date.now();
    let waitedMs = 0;
    const waiting = ask(s, 'x:doomed', ['in flight'], 12000).then((r) => {
      waitedMs = Date.now() - killedAt;
      return r;
    });
    await st.next((e) => e.args[0] === 'in flight');
    third.child.kill('SIGKILL');
    killedAt = Date.now();
    const a = await ask(s, 'x:doomed', ['after the kill'], 12000);
    const took = Date.now() - killedAt;
    t.diagnostic(`sent after the kill: ${JSON.stringify(a)} (${took} ms)`);
    assert.equal(errorCode(a), 'unavailable', 'an event for a dead node\'s stream is unavailable');
    assert.ok(took < 6500, `answered within ~6 s of the kill (${took} ms)`);

    // Once the node is forgotten, the answer is immediate.
    await remoteStreams(cluster.port(1), 0, 'node B to forget the dead node\'s stream');
    assert.ok(Date.now() - killedAt < 9000, `forgotten within ~6 s plus an announce (${Date.now() - killedAt} ms)`);
    const started = Date.now();
    assert.equal(errorCode(await ask(s, 'x:doomed', ['later'])), 'unavailable');
    assert.ok(Date.now() - started < 500, `at once (${Date.now() - started} ms)`);
    // The event the dead stream had taken: a service may still ack it through any node, so the
    // browser waits for the ack timeout (5 s here), then hears an error, not silence.
    const w = await waiting;
    t.diagnostic(`in flight at the kill: ${JSON.stringify(w)} (${waitedMs} ms after the kill)`);
    assert.ok(waitedMs < 6000, `answered by the ack timeout (${waitedMs} ms)`);
    assert.ok(['unavailable', 'timeout'].includes(errorCode(w)), JSON.stringify(w));
  });
});
