// W3C traceparent on a control call (gRPC metadata or HTTP header) is read
// per the Trace Context spec and carried into the call's log line as
// trace_id= span_id= (Roomcast's own span) parent_span_id= (the caller's); a
// malformed one is ignored, never an error. A socket asked by a traced
// EmitWithAck carries Roomcast's traceparent (same trace, Roomcast's span) on
// the client events it sends after: the ClientEvent's `traceparent` and the
// webhook POST's `traceparent` header.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { api, pollUntil, startControl } from '../support/control.js';
import { Reflection, grpcTarget, metadataOf } from '../support/grpc.js';
import { baseUrl, connect, withTimeout } from '../support/sio.js';

const kKey = 'trace-test-key-8e7d';
const kTraceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const kParent = '00f067aa0ba902b7';
const kValid = `00-${kTraceId}-${kParent}-01`;

function lineOf(output, re) {
  return output.split('\n').find((line) => re.test(line));
}

describe('traceparent on control calls', () => {
  let server;
  let reflection;
  let rpc;

  before(async () => {
    server = await startControl([], { env: { INTERNAL_API_KEY: kKey } });
    reflection = new Reflection(grpcTarget(server.grpcPort));
    rpc = await reflection.service('roomcast.v1.Roomcast', { headers: { authorization: `Bearer ${kKey}` } });
  });

  after(async () => {
    rpc?.close();
    reflection?.close();
    await server?.stop();
  });

  it('an HTTP emit with a traceparent header logs its trace at info', async () => {
    const traceId = kTraceId.replace(/^4/, '5');
    const res = await api(server.port, 'POST', '/v1/emit', { room: 'r', event: 'e', data: 1 }, {
      headers: { authorization: `Bearer ${kKey}`, traceparent: `00-${traceId}-${kParent}-01` },
    });
    assert.equal(res.status, 200, res.body);
    await pollUntil(() => lineOf(server.output(), new RegExp(`trace_id=${traceId}`)), { what: 'traced log line' });
    const line = lineOf(server.output(), new RegExp(`trace_id=${traceId}`));
    assert.match(line, / info control: call method=Emit via=http key=env-1 code=OK ms=[\d.]+ /);
    const span = / span_id=([0-9a-f]{16}) parent_span_id=([0-9a-f]{16})$/.exec(line);
    assert.ok(span, line);
    assert.equal(span[2], kParent);
    assert.notEqual(span[1], kParent, 'Roomcast logs a span of its own');
  });

  it('a gRPC Emit and EmitBatch with traceparent metadata log it', async () => {
    const emitTrace = kTraceId.replace(/^4/, '6');
    const batchTrace = kTraceId.replace(/^4/, '7');
    await rpc.call('Emit', { room: 'r', event: 'e', data: 1 }, { headers: { traceparent: `00-${emitTrace}-${kParent}-01` } });
    await rpc.call('EmitBatch', { emits: [{ room: 'r', event: 'e', data: 1 }, { room: 's', event: 'e', data: 2 }] }, {
      headers: { traceparent: `00-${batchTrace}-${kParent}-00` },
    });
    await pollUntil(() => lineOf(server.output(), new RegExp(`trace_id=${batchTrace}`)), { what: 'batch log line' });
    assert.match(lineOf(server.output(), new RegExp(`trace_id=${emitTrace}`)), /control: call method=Emit via=grpc key=env-1 code=OK/);
    assert.match(lineOf(server.output(), new RegExp(`trace_id=${batchTrace}`)), /control: call method=EmitBatch via=grpc key=env-1 code=OK/);
  });

  it('a failed traced call logs its code', async () => {
    const traceId = kTraceId.replace(/^4/, '8');
    const res = await api(server.port, 'POST', '/v1/emit', { room: 'r', event: '' }, {
      headers: { authorization: `Bearer ${kKey}`, traceparent: `00-${traceId}-${kParent}-01` },
    });
    assert.equal(res.status, 400, res.body);
    await pollUntil(() => lineOf(server.output(), new RegExp(`trace_id=${traceId}`)), { what: 'failed call line' });
    assert.match(lineOf(server.output(), new RegExp(`trace_id=${traceId}`)), /code=INVALID_ARGUMENT/);
  });

  it('a malformed traceparent is ignored: the call works, untraced', async () => {
    const bad = [
      `00-${'0'.repeat(32)}-${kParent}-01`,
      `00-${kTraceId}-${'0'.repeat(16)}-01`,
      `00-${kTraceId.toUpperCase().replace(/^4/, '9')}-${kParent}-01`,
      `ff-${kTraceId.replace(/^4/, 'a')}-${kParent}-01`,
      `00-${kTraceId.replace(/^4/, 'b')}-${kParent}-01-extra`,
      'garbage',
    ];
    for (const traceparent of bad) {
      const res = await api(server.port, 'POST', '/v1/emit', { room: 'r', event: 'e', data: 1 }, {
        headers: { authorization: `Bearer ${kKey}`, traceparent },
      });
      assert.equal(res.status, 200, `${traceparent}: ${res.body}`);
      await rpc.call('Emit', { room: 'r', event: 'e', data: 1 }, { headers: { traceparent } });
    }
    // The valid one last: once its line shows, every earlier line is out too.
    await rpc.call('Emit', { room: 'r', event: 'e', data: 1 }, { headers: { traceparent: kValid } });
    await pollUntil(() => lineOf(server.output(), new RegExp(`trace_id=${kTraceId}`)), { what: 'valid trace line' });
    for (const id of ['0'.repeat(32), 'A', 'a', 'b'].map((c) => (c.length > 1 ? c : kTraceId.replace(/^4/, c)))) {
      assert.ok(!server.output().toLowerCase().includes(`trace_id=${id.toLowerCase()}`), `no trace logged for ${id}`);
    }
    // Untraced successful calls log at debug only: not at the default info level.
    assert.equal(server.output().split('\n').filter((l) => /control: call/.test(l) && !/trace_id=/.test(l) && /code=OK/.test(l)).length, 0);
  });
  it('the ClientEvent after a traced EmitWithAck carries Roomcast\'s traceparent', async () => {
    const method = rpc.service.methods.ReceiveClientEvents;
    const reqType = rpc.root.lookupType(method.requestType);
    const resType = rpc.root.lookupType(method.responseType);
    const events = [];
    const call = rpc.client.makeServerStreamRequest(
      '/roomcast.v1.Roomcast/ReceiveClientEvents',
      (o) => Buffer.from(reqType.encode(reqType.fromObject(o)).finish()),
      (b) => resType.toObject(resType.decode(b), { longs: String, defaults: true }),
      { events: ['followup'] },
      metadataOf({ authorization: `Bearer ${kKey}` }),
      {},
    );
    call.on('data', (ev) => events.push(ev));
    call.on('error', () => {});
    await withTimeout(new Promise((resolve) => call.once('metadata', resolve)), 3000, 'stream metadata');
    const socket = await connect(baseUrl(server.port));
    try {
      socket.on('question', (arg, ack) => ack('yes'));
      const traceId = 'd'.repeat(31) + '2';
      await rpc.call('EmitWithAck', { socketId: socket.id, event: 'question', data: 1, timeoutMs: 3000 }, {
        headers: { traceparent: `00-${traceId}-${kParent}-01` },
      });
      socket.emit('followup', 1);
      const event = await pollUntil(() => events.find((e) => e.event === 'followup'), { what: 'the ClientEvent' });
      const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(event.traceparent);
      assert.ok(m, `traceparent: ${event.traceparent}`);
      assert.equal(m[1], traceId);
      assert.notEqual(m[2], kParent, 'the parent is Roomcast\'s span, not the caller\'s');
    } finally {
      socket.close();
      call.cancel();
    }
  });
});

describe('traceparent from a traced EmitWithAck to the client events that follow', () => {
  let server;
  let reflection;
  let rpc;
  let hook;
  const posts = [];

  before(async () => {
    hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        posts.push({ headers: req.headers, body: JSON.parse(body) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise((resolve) => hook.listen(0, '127.0.0.1', resolve));
    server = await startControl([], {
      env: { INTERNAL_API_KEY: kKey, ROOMCAST_CLIENT_EVENTS_WEBHOOK: `http://127.0.0.1:${hook.address().port}/events` },
    });
    reflection = new Reflection(grpcTarget(server.grpcPort));
    rpc = await reflection.service('roomcast.v1.Roomcast', { headers: { authorization: `Bearer ${kKey}` } });
  });

  after(async () => {
    rpc?.close();
    reflection?.close();
    await server?.stop();
    await new Promise((resolve) => hook?.close(resolve));
  });

  it('the ack comes back, and the socket\'s next event reaches the webhook with the trace', async () => {
    const socket = await connect(baseUrl(server.port));
    try {
      socket.on('question', (arg, ack) => ack({ answer: arg.n + 1 }));
      const traceId = 'c'.repeat(31) + '1';
      const ask = await rpc.call('EmitWithAck', { socketId: socket.id, event: 'question', data: { n: 41 }, timeoutMs: 3000 }, {
        headers: { traceparent: `00-${traceId}-${kParent}-01` },
      });
      assert.equal(ask.replies.length, 1);
      assert.match(JSON.stringify(ask.replies[0]), /42/, 'the ack carries the answer');
      socket.emit('followup', { after: 'question' });
      await pollUntil(() => posts.some((p) => JSON.stringify(p.body).includes('followup')), { what: 'webhook POST' });
      const post = posts.find((p) => JSON.stringify(p.body).includes('followup'));
      const header = post.headers.traceparent;
      const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(header ?? '');
      assert.ok(m, `traceparent header: ${header}`);
      assert.equal(m[1], traceId);
      const line = lineOf(server.output(), new RegExp(`trace_id=${traceId}`));
      assert.match(line, /control: call method=EmitWithAck via=grpc key=env-1 code=OK/);
      assert.equal(m[2], / span_id=([0-9a-f]{16})/.exec(line)[1], 'the parent is the span Roomcast logged');
      const bodyTrace = JSON.stringify(post.body).match(/"traceparent":"([^"]*)"/);
      assert.ok(bodyTrace, `the ClientEvent JSON carries traceparent: ${JSON.stringify(post.body)}`);
      assert.equal(bodyTrace[1], header);
    } finally {
      socket.close();
    }
  });

  it('a socket never asked in a traced call sends no traceparent', async () => {
    const socket = await connect(baseUrl(server.port));
    try {
      socket.emit('plain', { n: 1 });
      await pollUntil(() => posts.some((p) => JSON.stringify(p.body).includes('"plain"')), { what: 'webhook POST' });
      const post = posts.find((p) => JSON.stringify(p.body).includes('"plain"'));
      assert.equal(post.headers.traceparent, undefined);
    } finally {
      socket.close();
    }
  });
});
