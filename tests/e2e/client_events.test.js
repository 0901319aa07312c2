// Browsers talk back (issue 13), end to end in headless Chromium: the page,
// on another origin, uses the socket.io-client browser bundle to emit an event
// with an ack callback; a grpc-js ReceiveClientEvents stream in this test
// receives it and answers with AckClientEvent; the page shows the reply.
// Binary arguments (a Uint8Array from the page) reach the service as
// attachments, and a service asks the page with EmitWithAck.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { kUiTimeoutMs, screenshot, useBrowser } from '../support/browser.js';
import { startRoomcastd } from '../support/process.js';
import { stopServer } from '../support/fixtures.js';
import { pollUntil } from '../support/control.js';
import { Reflection, fromProto3Json, grpcTarget, metadataOf } from '../support/grpc.js';
import { baseUrl, withTimeout } from '../support/sio.js';

for (const name of ['INTERNAL_API_KEY', 'JWT_SECRET', 'NEXTAUTH_SECRET', 'ROOMCAST_JWT_PUBLIC_KEY_FILE', 'NODE_ENV']) {
  delete process.env[name];
}

// The page reads ?url=, connects, and on connect emits chat:send with an ack
// callback; window.sendBinary() emits bytes. What it sees goes into <pre>s.
const kPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>roomcast client events</title>
<script src="/socket.io.min.js"></script></head>
<body>
<h1>roomcast: browser → service → ack</h1>
<pre id="status">loading</pre>
<pre id="reply"></pre>
<pre id="binary-reply"></pre>
<pre id="asked"></pre>
<pre id="error"></pre>
<script>
  const params = new URLSearchParams(location.search);
  const set = (id, v) => { document.getElementById(id).textContent = typeof v === 'string' ? v : JSON.stringify(v); };
  const socket = io(params.get('url'), { reconnection: false });
  window.roomcastSocket = socket;
  socket.on('connect', () => {
    set('status', 'connected');
    socket.emit('chat:send', { text: 'hi from chromium', id: socket.id }, (...reply) => set('reply', reply));
  });
  socket.on('connect_error', (err) => { set('status', 'connect_error'); set('error', err.message); });
  window.sendBinary = () => socket.emit('file:upload', { name: 'pixel.bin', bytes: new Uint8Array([137, 80, 78, 71, 0, 255]) },
    (...reply) => set('binary-reply', reply));
  socket.on('question', (data, cb) => { set('asked', data); cb({ answer: 'from the page', echo: data }); });
</script>
</body></html>`;

/** Waits until element #id has non-empty text; resolves it parsed as JSON when it is. */
async function textOf(page, id) {
  const selector = `#${id}`;
  await page.waitForFunction((sel) => document.querySelector(sel).textContent !== '', selector, { timeout: kUiTimeoutMs });
  return page.textContent(selector);
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

/** A grpc-js ReceiveClientEvents stream; events with their args parsed. */
function openStream(svc, request) {
  const method = svc.service.methods.ReceiveClientEvents;
  const reqType = svc.root.lookupType(method.requestType);
  const resType = svc.root.lookupType(method.responseType);
  const call = svc.client.makeServerStreamRequest(
    '/roomcast.v1.Roomcast/ReceiveClientEvents',
    (o) => Buffer.from(reqType.encode(reqType.fromObject(o)).finish()),
    (b) => resType.toObject(resType.decode(b), { longs: String, defaults: true }),
    fromProto3Json(reqType, request),
    metadataOf({}),
    {},
  );
  const events = [];
  call.on('data', (ev) => events.push({ ...ev, args: JSON.parse(ev.args_json.toString() || '[]') }));
  call.on('error', () => {});
  const ready = withTimeout(new Promise((resolve) => call.once('metadata', resolve)), 3000, 'stream metadata');
  return {
    call,
    ready,
    next: (event) => pollUntil(() => events.find((e) => e.event === event), { timeoutMs: kUiTimeoutMs, intervalMs: 20, what: `"${event}" on the stream` }),
  };
}

describe('client events from Chromium', () => {
  const browser = useBrowser(kPage);
  const g = {};
  before(async () => {
    g.server = await startRoomcastd([]);
    g.reflection = new Reflection(grpcTarget(g.server.grpcPort));
    g.svc = await g.reflection.service('roomcast.v1.Roomcast');
  });
  after(async () => {
    g.svc?.close();
    g.reflection?.close();
    await stopServer(g.server);
  });

  it('the page emits with an ack callback, a gRPC stream acks it, the page shows the reply', async () => {
    const stream = openStream(g.svc, { events: ['chat:send', 'file:upload'], group: 'chat' });
    const page = await browser.context.newPage();
    try {
      await stream.ready;
      await page.goto(`${browser.origin}/?url=${encodeURIComponent(baseUrl(g.server.port))}`, { timeout: kUiTimeoutMs });
      await page.waitForFunction(() => document.querySelector('#status').textContent !== 'loading', null, { timeout: kUiTimeoutMs });
      assert.equal(await page.textContent('#status'), 'connected', await page.textContent('#error'));
      const socketId = await page.evaluate(() => window.roomcastSocket.id);

      const ev = await stream.next('chat:send');
      assert.equal(ev.kind, 'event');
      assert.equal(ev.socket_id, socketId);
      assert.equal(ev.wants_ack, true);
      assert.deepEqual(ev.args, [{ text: 'hi from chromium', id: socketId }]);
      assert.equal(await page.textContent('#reply'), '', 'the page is still waiting');
      await g.svc.call('AckClientEvent', { id: ev.id, args: [{ stored: true, by: 'grpc service' }, 'second arg'] });
      assert.deepEqual(JSON.parse(await textOf(page, 'reply')), [{ stored: true, by: 'grpc service' }, 'second arg']);

      // Binary from the page: the bundle's encoding, attachments on the stream.
      await page.evaluate(() => window.sendBinary());
      const up = await stream.next('file:upload');
      assert.deepEqual(up.args, [{ name: 'pixel.bin', bytes: { _placeholder: true, num: 0 } }]);
      assert.equal(up.attachments.length, 1);
      assert.deepEqual(Buffer.from(up.attachments[0]), Buffer.from([137, 80, 78, 71, 0, 255]));
      await g.svc.call('AckClientEvent', { id: up.id, argsJson: Buffer.from(JSON.stringify([{ size: up.attachments[0].length }])) });
      assert.deepEqual(JSON.parse(await textOf(page, 'binary-reply')), [{ size: 6 }]);

      // And the other way: a service asks the page and gets its answer.
      const res = await g.svc.call('EmitWithAck', { socketId, event: 'question', data: { q: 'ready?' }, timeoutMs: 3000 });
      assert.equal(res.replies.length, 1, JSON.stringify(res));
      assert.equal(res.replies[0].socket_id, socketId);
      assert.deepEqual(res.replies[0].args.values.map(fromValue), [{ answer: 'from the page', echo: { q: 'ready?' } }]);
      assert.deepEqual(res.timed_out, []);
      assert.deepEqual(JSON.parse(await textOf(page, 'asked')), { q: 'ready?' });
    } finally {
      await screenshot(page, 'client-events-ack');
      await page.close().catch(() => {});
      stream.call.cancel();
    }
  });

  it('with no service the page\'s callback hears unavailable at once', async () => {
    const page = await browser.context.newPage();
    try {
      await pollUntil(async () => (await g.svc.call('Status', {})).client_events.streams === '0', { what: 'no stream open' });
      const started = Date.now();
      await page.goto(`${browser.origin}/?url=${encodeURIComponent(baseUrl(g.server.port))}`, { timeout: kUiTimeoutMs });
      const [reply] = JSON.parse(await textOf(page, 'reply'));
      assert.equal(reply.ok, false);
      assert.equal(reply.error.code, 'unavailable');
      assert.ok(Date.now() - started < 3000, `at once (${Date.now() - started} ms, page load included)`);
    } finally {
      await screenshot(page, 'client-events-unavailable');
      await page.close().catch(() => {});
    }
  });
});
