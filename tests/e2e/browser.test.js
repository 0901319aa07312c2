// Chromium (headless, via playwright-core) loads a page from one origin that
// connects with the socket.io-client browser bundle to roomcastd on another
// origin: join ack, upgrade to WebSocket, broadcasts both ways (with binary),
// CORS refusal, and an emit from another node of a Redis cluster.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { kUiTimeoutMs, screenshot, useBrowser } from '../support/browser.js';
import { startRoomcastd } from '../support/process.js';
import { stopServer } from '../support/fixtures.js';
import { baseUrl, broadcast, connect, waitFor } from '../support/sio.js';
import { emitHttp } from '../support/control.js';
import { nodeFlags } from '../support/cluster.js';
import { redisAvailable, startRedis } from '../support/redis.js';

// The page reads ?url=&room= and reports everything it sees into <pre> elements.
const kPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>roomcast e2e</title>
<script src="/socket.io.min.js"></script></head>
<body>
<h1>roomcast e2e</h1>
<pre id="status">loading</pre>
<pre id="first-transport"></pre>
<pre id="transport"></pre>
<pre id="ack"></pre>
<pre id="event"></pre>
<pre id="error"></pre>
<script>
  const params = new URLSearchParams(location.search);
  const set = (id, v) => { document.getElementById(id).textContent = typeof v === 'string' ? v : JSON.stringify(v); };
  const plain = (v) => v instanceof ArrayBuffer ? { bytes: Array.from(new Uint8Array(v)) }
    : Array.isArray(v) ? v.map(plain)
    : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
    : v;
  const socket = io(params.get('url'), { reconnection: false });
  window.roomcastSocket = socket;
  socket.io.on('open', () => {
    set('first-transport', socket.io.engine.transport.name);
    socket.io.engine.on('upgrade', (t) => set('transport', t.name));
  });
  socket.on('connect', () => {
    set('status', 'connected');
    socket.emit('join', params.get('room'), (ack) => set('ack', ack));
  });
  socket.on('connect_error', (err) => { set('status', 'connect_error'); set('error', err.message); });
  socket.on('news', (data) => set('event', plain(data)));
</script>
</body></html>`;

/** Waits until element #id has non-empty text; resolves the text. */
async function textOf(page, id) {
  const selector = `#${id}`;
  await page.waitForFunction((sel) => document.querySelector(sel).textContent !== '', selector, { timeout: kUiTimeoutMs });
  return page.textContent(selector);
}

describe('browser', () => {
  const browser = useBrowser(kPage);

  /** Starts roomcastd with `flags`, opens the page against it, runs fn({ page, server }). */
  async function withPage(name, flags, room, fn, { start = startRoomcastd } = {}) {
    const server = await start(flags);
    const page = await browser.context.newPage();
    try {
      await page.goto(browser.pageUrl(baseUrl(server.port), room), { timeout: kUiTimeoutMs });
      await fn({ page, server });
    } finally {
      await screenshot(page, name);
      await page.close().catch(() => {});
      await stopServer(server);
    }
  }

  it('joins a room cross-origin, upgrades to WebSocket and exchanges broadcasts', async () => {
    const room = 'browser-room';
    await withPage('browser-join', ['--enable_client_broadcast'], room, async ({ page, server }) => {
      assert.deepEqual(JSON.parse(await textOf(page, 'ack')), { ok: true, rooms: [room] });
      assert.equal(await textOf(page, 'first-transport'), 'polling');
      assert.equal(await textOf(page, 'transport'), 'websocket');
      assert.equal(await page.evaluate(() => window.roomcastSocket.io.engine.transport.name), 'websocket');

      // Node -> browser, with a binary attachment.
      const node = await connect(baseUrl(server.port), { auth: { rooms: [room] } });
      try {
        const data = { text: 'hello browser ✓', bytes: Buffer.from([1, 2, 250]) };
        assert.deepEqual(await broadcast(node, { room, event: 'news', data }), { ok: true, recipients: 2 });
        assert.deepEqual(JSON.parse(await textOf(page, 'event')), { text: 'hello browser ✓', bytes: { bytes: [1, 2, 250] } });

        // Browser -> Node, with a binary attachment encoded by the browser bundle.
        const atNode = waitFor(node, 'from-browser', kUiTimeoutMs);
        const ack = await page.evaluate(
          (r) => window.roomcastSocket.timeout(5000).emitWithAck('broadcast', {
            room: r,
            event: 'from-browser',
            data: { n: 42, bytes: new Uint8Array([9, 8, 7]) },
          }),
          room,
        );
        assert.deepEqual(ack, { ok: true, recipients: 2 });
        const got = await atNode;
        assert.equal(got.n, 42);
        assert.deepEqual(Buffer.from(got.bytes), Buffer.from([9, 8, 7]));
      } finally {
        node.close();
      }
    });
  });

  it('over polling only, a large event arrives gzip-compressed and intact', async () => {
    await withPage('browser-polling-gzip', [], 'gzip-room', async ({ page, server }) => {
      const encodings = [];
      page.on('response', (res) => {
        if (res.url().includes('transport=polling') && res.request().method() === 'GET') {
          encodings.push(res.headers()['content-encoding'] ?? 'identity');
        }
      });
      const id = await page.evaluate((url) => new Promise((resolve, reject) => {
        const polling = io(url, { transports: ['polling'], reconnection: false, forceNew: true });
        window.pollingSocket = polling;
        polling.on('big', (data) => (window.bigEvent = data));
        polling.on('connect', () => resolve(polling.id));
        polling.on('connect_error', (err) => reject(err.message));
      }), baseUrl(server.port));
      const data = { rows: Array.from({ length: 100 }, (_, i) => ({ id: i, label: `row ${i} ✓` })) };
      const result = await emitHttp(server.port, { room: id, event: 'big', data });
      assert.equal(result.recipients, 1n);
      await page.waitForFunction(() => window.bigEvent !== undefined, null, { timeout: kUiTimeoutMs });
      assert.deepEqual(await page.evaluate(() => window.bigEvent), data);
      assert.ok(encodings.includes('gzip'), `a poll answered with gzip: ${encodings.join(', ')}`);
      await page.evaluate(() => window.pollingSocket.close());
    });
  });

  it('receives an emit made on another node of a Redis cluster', { skip: !redisAvailable() && 'no redis-server' }, async () => {
    const redis = await startRedis();
    const other = await startRoomcastd(nodeFlags(redis.url));
    try {
      const room = 'cluster-room';
      await withPage('browser-cluster', nodeFlags(redis.url), room, async ({ page }) => {
        assert.deepEqual(JSON.parse(await textOf(page, 'ack')), { ok: true, rooms: [room] });
        // Made on the other node, right after the join's ack.
        const result = await emitHttp(other.port, { room, event: 'news', data: { from: 'the other node' } });
        assert.equal(result.recipients, 0n, 'the browser is not on the emitting node');
        assert.deepEqual(JSON.parse(await textOf(page, 'event')), { from: 'the other node' });
      });
    } finally {
      await stopServer(other);
      await redis.stop();
    }
  });

  it('connects when --cors_origin lists the page origin', async () => {
    const room = 'cors-ok';
    await withPage('browser-cors-allowed', [`--cors_origin=${browser.origin}`], room, async ({ page }) => {
      assert.deepEqual(JSON.parse(await textOf(page, 'ack')), { ok: true, rooms: [room] });
      assert.equal(await textOf(page, 'transport'), 'websocket');
    });
  });

  it('cannot connect when --cors_origin does not list the page origin', async () => {
    await withPage('browser-cors-refused', ['--cors_origin=http://other.example'], 'cors-no', async ({ page }) => {
      assert.ok((await textOf(page, 'error')).length > 0);
      assert.equal(await page.textContent('#status'), 'connect_error');
      assert.equal(await page.textContent('#ack'), '');
    });
  });
});
