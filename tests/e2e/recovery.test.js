// Connection state recovery in a real browser: headless Chromium (via
// playwright-core) loads a page that connects with the socket.io-client
// browser bundle (default transports: polling, then the upgrade to WebSocket)
// through a loopback proxy to roomcastd with --recovery_window_ms. The test
// cuts the page's connection at the proxy and keeps it off while a service
// emits; the page reconnects by itself and reports recovered === true, the
// same socket id and every event, in order, once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { kUiTimeoutMs, screenshot, useBrowser } from '../support/browser.js';
import { api, okJson } from '../support/control.js';
import { stopServer } from '../support/fixtures.js';
import { startRoomcastd } from '../support/process.js';
import { startProxy } from '../support/proxy.js';
import { sleep } from '../support/sio.js';

delete process.env.ROOMCAST_RECOVERY_WINDOW_MS;

// The page reads ?url=&room=, joins the room on its first connect only (a
// recovered session has its rooms back) and keeps everything it sees in
// window.report (and in #report, for the screenshot).
const kPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>roomcast recovery e2e</title>
<script src="/socket.io.min.js"></script></head>
<body>
<h1>roomcast recovery e2e</h1>
<pre id="report"></pre>
<script>
  const params = new URLSearchParams(location.search);
  const report = { connects: [], disconnects: [], events: [], joined: null, errors: [] };
  window.report = report;
  const show = () => { document.getElementById('report').textContent = JSON.stringify(report, null, 1); };
  const socket = io(params.get('url'), {
    reconnectionDelay: 100, reconnectionDelayMax: 200, randomizationFactor: 0, reconnectionAttempts: 100, timeout: 5000,
  });
  window.roomcastSocket = socket;
  socket.on('connect', () => {
    report.connects.push({ id: socket.id, recovered: socket.recovered });
    if (report.joined === null) socket.emit('join', params.get('room'), (ack) => { report.joined = ack; show(); });
    show();
  });
  socket.on('disconnect', (reason) => { report.disconnects.push(reason); show(); });
  socket.on('connect_error', (err) => { report.errors.push(err.message); });
  // Logged events carry their offset as a last argument: the data is the first.
  socket.on('n', (data, offset) => { report.events.push({ data, offset }); show(); });
</script>
</body></html>`;

/** Emits event "n" with data from..to to `room`, in order. */
async function emitNumbered(port, from, to, room) {
  for (let i = from; i <= to; i += 1) {
    okJson(await api(port, 'POST', '/v1/emit', { rooms: [room], event: 'n', data: i }));
  }
}

/** Waits until `predicate(window.report)` holds in the page. */
function until(page, predicate, arg) {
  return page.waitForFunction(predicate, arg, { timeout: kUiTimeoutMs, polling: 50 });
}

describe('browser connection state recovery', () => {
  const browser = useBrowser(kPage);

  it('the page recovers after its connection is cut: same id, recovered, every event once in order', { timeout: 60000 }, async (t) => {
    const server = await startRoomcastd(['--recovery_window_ms=10000']);
    const proxy = await startProxy({ target: server.port });
    const page = await browser.context.newPage();
    t.after(async () => {
      await screenshot(page, 'browser-recovery');
      await page.close().catch(() => {});
      await proxy.close();
      await stopServer(server);
    });
    const room = 'browser-recovery';
    await page.goto(browser.pageUrl(proxy.url, room), { timeout: kUiTimeoutMs });
    await until(page, () => window.report.joined !== null);
    assert.deepEqual(await page.evaluate(() => window.report.joined), { ok: true, rooms: [room] });
    await until(page, () => window.roomcastSocket.io.engine?.transport?.name === 'websocket');

    await emitNumbered(server.port, 1, 3, room);
    await until(page, () => window.report.events.length >= 3);

    proxy.refuse(true);
    proxy.dropAll();
    await until(page, () => window.report.disconnects.length >= 1);
    await emitNumbered(server.port, 4, 13, room);
    await sleep(300); // the page keeps trying, and is turned away
    proxy.refuse(false);
    await until(page, () => window.report.connects.length >= 2);
    await emitNumbered(server.port, 14, 15, room);
    await until(page, () => window.report.events.length >= 15);
    await sleep(300);

    const report = await page.evaluate(() => window.report);
    assert.equal(report.connects.length, 2, JSON.stringify(report.connects));
    assert.equal(report.connects[0].recovered, false);
    assert.equal(report.connects[1].recovered, true, `the page recovered: ${JSON.stringify(report.connects)}`);
    assert.equal(report.connects[1].id, report.connects[0].id, 'the same socket id');
    assert.match(report.disconnects[0], /^transport (close|error)$/);
    assert.deepEqual(report.events.map((e) => e.data), Array.from({ length: 15 }, (_, i) => i + 1), 'every event once, in order');
    const offsets = report.events.map((e) => e.offset);
    assert.ok(offsets.every((o) => typeof o === 'string' && o !== ''), `offsets: ${JSON.stringify(offsets)}`);
    assert.equal(new Set(offsets).size, offsets.length, 'distinct offsets');
    assert.deepEqual(await page.evaluate(() => window.roomcastSocket.timeout(3000).emitWithAck('rooms')), { ok: true, rooms: [room] });
  });
});
