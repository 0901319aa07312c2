// Malformed and abusive input over raw HTTP and WebSocket. Each case checks
// the documented error, and that clients connected before it, and new ones,
// are still served.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { useRoomcastd } from '../support/fixtures.js';
import { RawWs, eioPath, pollGet, pollPost, pollingHandshake, pollingSessionGone, pollingSioSession, request } from '../support/raw.js';
import { emitWithAck, roomsOf, sleep } from '../support/sio.js';

const kMax = 10000;
const fx = useRoomcastd([`--max_http_buffer_size=${kMax}`]);
const healthy = {};

before(async () => {
  await fx.ready;
  healthy.ws = await fx.connect({ transports: ['websocket'], auth: { rooms: ['healthy-ws'] } });
  healthy.polling = await fx.connect({ transports: ['polling'], auth: { rooms: ['healthy-polling'] } });
});

/** The clients connected before the bad input still answer, and a new client connects. */
async function assertStillServing() {
  assert.equal(healthy.ws.connected, true, 'WebSocket client still connected');
  assert.equal(healthy.polling.connected, true, 'polling client still connected');
  assert.deepEqual(await roomsOf(healthy.ws), ['healthy-ws']);
  assert.deepEqual(await roomsOf(healthy.polling), ['healthy-polling']);
  const fresh = await fx.connect({ transports: ['websocket'] });
  assert.deepEqual(await emitWithAck(fresh, 'join', 'fresh'), { ok: true, rooms: ['fresh'] });
  fresh.close();
}

/** Asserts an Engine.IO JSON error response. */
function assertEioError(res, status, code, message) {
  assert.equal(res.status, status, `status of ${res.body}`);
  assert.deepEqual(JSON.parse(res.body), { code, message });
}

/** Asserts the polling session `sid` no longer exists (see pollingSessionGone). */
async function assertSessionGone(sid) {
  const gone = await pollingSessionGone(fx.port, sid);
  assert.ok(gone.gone, JSON.stringify(gone.seen));
}

/**
 * Opens a Socket.IO WebSocket session, sends `frames`, and expects the server
 * to close that connection while the other clients are still served.
 */
async function assertWsClosedBy(...frames) {
  const raw = await RawWs.openSio(fx.port);
  try {
    for (const frame of frames) raw.send(frame);
    await raw.waitClosed();
  } finally {
    raw.close();
  }
  await assertStillServing();
}

/** Resolves { res } or { err } of a request promise (a cut connection is an outcome too). */
const settle = (promise) => promise.then((res) => ({ res }), (err) => ({ err }));

describe('Engine.IO request validation', () => {
  it('EIO=3 -> 400 code 5 "Unsupported protocol version"', async () => {
    const res = await request(fx.port, { path: '/socket.io/?EIO=3&transport=polling' });
    assertEioError(res, 400, 5, 'Unsupported protocol version');
    await assertStillServing();
  });

  it('missing EIO -> 400 code 5', async () => {
    const res = await request(fx.port, { path: '/socket.io/?transport=polling' });
    assertEioError(res, 400, 5, 'Unsupported protocol version');
  });

  it('unknown transport -> 400 code 0 "Transport unknown"', async () => {
    const res = await request(fx.port, { path: eioPath('transport=carrier-pigeon') });
    assertEioError(res, 400, 0, 'Transport unknown');
    await assertStillServing();
  });

  it('unknown sid -> 400 code 1 "Session ID unknown"', async () => {
    const res = await pollGet(fx.port, 'no-such-session-id');
    assertEioError(res, 400, 1, 'Session ID unknown');
    const posted = await pollPost(fx.port, 'no-such-session-id', '40');
    assertEioError(posted, 400, 1, 'Session ID unknown');
    await assertStillServing();
  });

  it('POST without sid -> 400 code 2 "Bad handshake method"', async () => {
    const res = await request(fx.port, { method: 'POST', path: eioPath('transport=polling'), body: '40' });
    assertEioError(res, 400, 2, 'Bad handshake method');
  });
});

describe('polling sessions', () => {
  it('a malformed packet in a POST body -> 400 and the session is gone', async () => {
    const { sid } = await pollingHandshake(fx.port);
    const { res, err } = await settle(pollPost(fx.port, sid, 'abc'));
    // 400, or the connection cut without a response; never a 200.
    if (res) assert.equal(res.status, 400, `POST abc answered ${res.status} ${res.body}`);
    else assert.ok(err);
    await assertSessionGone(sid);
    await assertStillServing();
  });

  it('invalid Socket.IO JSON (42abc) closes that session only', async () => {
    const { sid } = await pollingSioSession(fx.port);
    await settle(pollPost(fx.port, sid, '42abc'));
    await assertSessionGone(sid);
    await assertStillServing();
  });

  it('accepts a POST of exactly max_http_buffer_size bytes', async () => {
    const { sid } = await pollingSioSession(fx.port);
    const head = '42["ignored-event","';
    const body = `${head}${'x'.repeat(kMax - head.length - 2)}"]`;
    assert.equal(Buffer.byteLength(body), kMax);
    const res = await pollPost(fx.port, sid, body);
    assert.equal(res.status, 200);
    assert.equal(res.body, 'ok');
  });

  it('a POST over max_http_buffer_size -> 413', async () => {
    const { sid } = await pollingSioSession(fx.port);
    const outcome = await settle(pollPost(fx.port, sid, `42["big","${'x'.repeat(kMax)}"]`));
    assert.ok(outcome.res, `request failed: ${outcome.err}`);
    assert.equal(outcome.res.status, 413);
    await assertStillServing();
  });

  it('a second concurrent GET -> 400 and the session is closed', async () => {
    const { sid } = await pollingSioSession(fx.port);
    const first = settle(pollGet(fx.port, sid));
    await sleep(150); // let the first GET reach the server and be held
    const second = await pollGet(fx.port, sid);
    assert.equal(second.status, 400, `second GET answered ${second.status} ${second.body}`);
    const firstOutcome = await first;
    assert.ok(firstOutcome.err || firstOutcome.res.status === 200 || firstOutcome.res.status === 400, JSON.stringify(firstOutcome.res));
    await assertSessionGone(sid);
    await assertStillServing();
  });

  it('an aborted pending GET ends the session', async () => {
    const { sid } = await pollingSioSession(fx.port);
    const req = http.request({ host: '127.0.0.1', port: fx.port, path: eioPath(`transport=polling&sid=${sid}`), agent: false });
    req.on('error', () => {});
    req.end();
    await sleep(150);
    req.destroy();
    await sleep(150);
    await assertSessionGone(sid);
    await assertStillServing();
  });
});

describe('WebSocket sessions', () => {
  it('invalid Socket.IO JSON (42abc) closes that connection only', async () => {
    await assertWsClosedBy('42abc');
  });

  it('an invalid Engine.IO packet (abc) closes the connection', async () => {
    await assertWsClosedBy('abc');
  });

  it('a message bigger than max_http_buffer_size closes the connection', async () => {
    await assertWsClosedBy(`42["big","${'x'.repeat(kMax + 10)}"]`);
  });

  it('a binary frame bigger than max_http_buffer_size closes the connection', async () => {
    await assertWsClosedBy('451-["bin",{"_placeholder":true,"num":0}]', Buffer.alloc(kMax + 10, 7));
  });

  it('a message of exactly max_http_buffer_size bytes is accepted', async () => {
    const raw = await RawWs.openSio(fx.port);
    try {
      const head = '421["padded-unknown-event","';
      const msg = `${head}${'p'.repeat(kMax - head.length - 2)}"]`;
      assert.equal(Buffer.byteLength(msg), kMax);
      raw.send(msg);
      const reply = await raw.next();
      assert.match(reply, /^431\[/);
      assert.equal(JSON.parse(reply.slice(3))[0].error.code, 'unavailable');
      assert.equal(raw.isOpen, true);
    } finally {
      raw.close();
    }
  });
});

describe('oversized request headers', () => {
  it('headers over 16 KiB get 431 and the server keeps serving; 15 KiB pass', async () => {
    const big = await request(fx.port, { path: eioPath(), headers: { cookie: `a=${'x'.repeat(20 * 1024)}` } });
    assert.equal(big.status, 431, big.body);
    assert.match(big.body, /headers too large/);
    const fits = await request(fx.port, { path: eioPath('transport=polling'), headers: { cookie: `a=${'x'.repeat(15 * 1024)}` } });
    assert.equal(fits.status, 200, fits.body);
    await assertStillServing();
  });
});
