// Socket.IO v5 (over Engine.IO v4) protocol conformance, wire level (raw HTTP
// + raw WebSocket frames).
//
// Port of the official Socket.IO v5 test suite:
//   socketio/socket.io  docs/socket.io-protocol/v5-test-suite/test-suite.js
//   (formerly socketio/socket.io-protocol  test-suite/test-suite.js)
// mocha + chai -> node:test + node:assert/strict. Every upstream test case is
// kept with the same frames, assertions and timings; the hard-coded
// http://localhost:3000 is replaced by the port of the started protocol_server.
// Differences from upstream, all of them about robustness only:
//   - waitFor() buffers events per socket (as the Engine.IO suite's
//     createWebSocket() does) instead of attaching a one-shot listener after
//     the fact: with the one-shot listener, two frames that arrive in the same
//     TCP read (e.g. `40{"sid":...}` then `42["auth",{}]`) lose the second one
//     (socketio/socket.io-protocol issue #32 "waitFor latency causes the
//     test-suite to miss some packets");
//   - every wait is bounded (waitFor() and fetch() time out with a message);
//     per-test timeouts are mocha's (2000 ms, 5000 ms for "heartbeat");
//   - the two WebSocket "invalid query parameter" cases await the `close`
//     event (upstream calls waitFor() without await, so it checks nothing);
//   - WebSockets opened by a test are terminated in after().
// The last describe() block ("protocol_server profile") holds extra checks
// that are NOT in the upstream suite (connectTimeout timing, CORS, Socket.IO
// over HTTP long-polling, namespace/sid details); they are labelled as such.
//
// The server under test is `tests/conformance/protocol_server`: Socket.IO at
// /socket.io/ with pingInterval 300, pingTimeout 200, maxPayload 1000000,
// connectTimeout 1000, CORS "*"; on connect to "/" or "/custom" it emits
// `auth` with the handshake auth, echoes `message` as `message-back` and acks
// `message-with-ack` with its arguments. See tests/conformance/README.md.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startProtocolServer } from '../support/process.js';

const HOST = '127.0.0.1';
let URL; // http://127.0.0.1:<port>, set in before()
let WS_URL;
let server;

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const CONNECT_TIMEOUT = 1000;

// mocha's default per-test timeout, and the one the suite sets for "heartbeat".
const T = { timeout: 2000 };
const T_HEARTBEAT = { timeout: 5000 };
// Upper bound for a single wait (event or HTTP response) inside a test.
const WAIT_TIMEOUT = 1500;
const FETCH_TIMEOUT = 3000;

const openSockets = new Set();

before(async () => {
  server = await startProtocolServer();
  URL = `http://${HOST}:${server.port}`;
  WS_URL = URL.replace('http', 'ws');
});

after(async () => {
  for (const socket of openSockets) socket.terminate();
  openSockets.clear();
  await server?.stop();
});

function sleep(delay) {
  return new Promise((resolve) => setTimeout(resolve, delay));
}

// fetch() bounded by FETCH_TIMEOUT unless the caller passes its own signal.
function fetch(url, init = {}) {
  return globalThis.fetch(url, {
    signal: AbortSignal.timeout(FETCH_TIMEOUT),
    ...init,
  });
}

// A `ws` WebSocket that buffers open/close/message events until a waitFor()
// consumes them.
function createWebSocket(url) {
  const socket = new WebSocket(url);
  openSockets.add(socket);
  // `ws` throws on an unhandled "error" (e.g. a refused handshake).
  socket.on('error', () => {});
  socket._eventBuffer = {};
  socket._pendingPromises = {};

  for (const eventType of ['open', 'close', 'message']) {
    socket._eventBuffer[eventType] = [];
    socket._pendingPromises[eventType] = [];

    socket.addEventListener(eventType, (event) => {
      if (socket._pendingPromises[eventType].length) {
        socket._pendingPromises[eventType].shift()(event);
      } else {
        socket._eventBuffer[eventType].push(event);
      }
    });
  }

  return socket;
}

function waitFor(socket, eventType, timeoutMs = WAIT_TIMEOUT) {
  if (socket._eventBuffer[eventType].length) {
    return Promise.resolve(socket._eventBuffer[eventType].shift());
  }
  return new Promise((resolve, reject) => {
    const pending = socket._pendingPromises[eventType];
    const timer = setTimeout(() => {
      const index = pending.indexOf(onEvent);
      if (index !== -1) pending.splice(index, 1);
      reject(new Error(`no '${eventType}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    function onEvent(event) {
      clearTimeout(timer);
      resolve(event);
    }
    pending.push(onEvent);
  });
}

// Next `count` messages, PING packets ("2") ignored, as upstream.
async function waitForPackets(socket, count, timeoutMs = WAIT_TIMEOUT) {
  const deadline = performance.now() + timeoutMs;
  const packets = [];
  while (packets.length < count) {
    const left = deadline - performance.now();
    if (left <= 0) {
      throw new Error(`only ${packets.length} of ${count} packets within ${timeoutMs} ms: ${packets.map(describeValue).join(', ')}`);
    }
    const { data } = await waitFor(socket, 'message', left);
    if (data === '2') {
      // ignore PING packets
      continue;
    }
    packets.push(data);
  }
  return packets;
}

async function initLongPollingSession() {
  const response = await fetch(`${URL}/socket.io/?EIO=4&transport=polling`);
  const content = await response.text();
  return JSON.parse(content.substring(1)).sid;
}

async function initSocketIOConnection() {
  const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);
  socket.binaryType = 'arraybuffer';

  await waitFor(socket, 'message'); // Engine.IO handshake

  socket.send('40');

  await waitFor(socket, 'message'); // Socket.IO handshake
  await waitFor(socket, 'message'); // "auth" packet

  return socket;
}

// chai helpers used by the suite, expressed with node:assert.
function assertStartsWith(value, prefix) {
  assert.equal(typeof value, 'string', `expected a string, got ${describeValue(value)}`);
  assert.ok(value.startsWith(prefix), `expected ${JSON.stringify(value)} to start with ${JSON.stringify(prefix)}`);
}

function assertAllKeys(object, keys) {
  assert.deepEqual(Object.keys(object).sort(), [...keys].sort());
}

function assertBinary(data, bytes) {
  assert.ok(data instanceof ArrayBuffer, `expected an ArrayBuffer (binary frame), got ${describeValue(data)}`);
  assert.deepEqual(data, Uint8Array.from(bytes).buffer);
}

function describeValue(value) {
  if (typeof value === 'string') return `string ${JSON.stringify(value.slice(0, 200))}`;
  if (value instanceof ArrayBuffer) return `ArrayBuffer [${[...new Uint8Array(value)].slice(0, 32)}]`;
  if (Buffer.isBuffer(value)) return `Buffer [${[...value].slice(0, 32)}]`;
  return String(value);
}

function assertHandshake(value, upgrades) {
  assertAllKeys(value, ['sid', 'upgrades', 'pingInterval', 'pingTimeout', 'maxPayload']);
  assert.equal(typeof value.sid, 'string');
  assert.deepEqual(value.upgrades, upgrades);
  assert.deepEqual(value.pingInterval, PING_INTERVAL);
  assert.deepEqual(value.pingTimeout, PING_TIMEOUT);
  assert.deepEqual(value.maxPayload, 1000000);
}

describe('Engine.IO protocol', () => {
  describe('handshake', () => {
    describe('HTTP long-polling', () => {
      it('should successfully open a session', T, async () => {
        const response = await fetch(`${URL}/socket.io/?EIO=4&transport=polling`);

        assert.deepEqual(response.status, 200);

        const content = await response.text();

        assertStartsWith(content, '0');

        const value = JSON.parse(content.substring(1));

        assertHandshake(value, ['websocket']);
      });

      it("should fail with an invalid 'EIO' query parameter", T, async () => {
        const response = await fetch(`${URL}/socket.io/?transport=polling`);

        assert.deepEqual(response.status, 400);

        const response2 = await fetch(`${URL}/socket.io/?EIO=abc&transport=polling`);

        assert.deepEqual(response2.status, 400);
      });

      it("should fail with an invalid 'transport' query parameter", T, async () => {
        const response = await fetch(`${URL}/socket.io/?EIO=4`);

        assert.deepEqual(response.status, 400);

        const response2 = await fetch(`${URL}/socket.io/?EIO=4&transport=abc`);

        assert.deepEqual(response2.status, 400);
      });

      it('should fail with an invalid request method', T, async () => {
        const response = await fetch(`${URL}/socket.io/?EIO=4&transport=polling`, {
          method: 'post',
        });

        assert.deepEqual(response.status, 400);

        const response2 = await fetch(`${URL}/socket.io/?EIO=4&transport=polling`, {
          method: 'put',
        });

        assert.deepEqual(response2.status, 400);
      });
    });

    describe('WebSocket', () => {
      it('should successfully open a session', T, async () => {
        const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);

        const { data } = await waitFor(socket, 'message');

        assertStartsWith(data, '0');

        const value = JSON.parse(data.substring(1));

        assertHandshake(value, []);

        socket.close();
      });

      it("should fail with an invalid 'EIO' query parameter", T, async () => {
        const socket = createWebSocket(`${WS_URL}/socket.io/?transport=websocket`);

        socket.on('error', () => {});

        await waitFor(socket, 'close');

        const socket2 = createWebSocket(`${WS_URL}/socket.io/?EIO=abc&transport=websocket`);

        socket2.on('error', () => {});

        await waitFor(socket2, 'close');
      });

      it("should fail with an invalid 'transport' query parameter", T, async () => {
        const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4`);

        socket.on('error', () => {});

        await waitFor(socket, 'close');

        const socket2 = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=abc`);

        socket2.on('error', () => {});

        await waitFor(socket2, 'close');
      });
    });
  });

  describe('heartbeat', () => {
    describe('HTTP long-polling', () => {
      it('should send ping/pong packets', T_HEARTBEAT, async () => {
        const sid = await initLongPollingSession();

        for (let i = 0; i < 3; i++) {
          const pollResponse = await fetch(`${URL}/socket.io/?EIO=4&transport=polling&sid=${sid}`);

          assert.deepEqual(pollResponse.status, 200);

          const pollContent = await pollResponse.text();

          assert.deepEqual(pollContent, '2');

          const pushResponse = await fetch(`${URL}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
            method: 'post',
            body: '3',
          });

          assert.deepEqual(pushResponse.status, 200);
        }
      });

      it('should close the session upon ping timeout', T_HEARTBEAT, async () => {
        const sid = await initLongPollingSession();

        await sleep(PING_INTERVAL + PING_TIMEOUT);

        const pollResponse = await fetch(`${URL}/socket.io/?EIO=4&transport=polling&sid=${sid}`);

        assert.deepEqual(pollResponse.status, 400);
      });
    });

    describe('WebSocket', () => {
      it('should send ping/pong packets', T_HEARTBEAT, async () => {
        const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);

        await waitFor(socket, 'message'); // handshake

        for (let i = 0; i < 3; i++) {
          const { data } = await waitFor(socket, 'message');

          assert.deepEqual(data, '2');

          socket.send('3');
        }

        socket.close();
      });

      it('should close the session upon ping timeout', T_HEARTBEAT, async () => {
        const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);

        await waitFor(socket, 'close'); // handshake
      });
    });
  });

  describe('close', () => {
    describe('HTTP long-polling', () => {
      it('should forcefully close the session', T, async () => {
        const sid = await initLongPollingSession();

        const [pollResponse] = await Promise.all([
          fetch(`${URL}/socket.io/?EIO=4&transport=polling&sid=${sid}`),
          fetch(`${URL}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
            method: 'post',
            body: '1',
          }),
        ]);

        assert.deepEqual(pollResponse.status, 200);

        const pullContent = await pollResponse.text();

        assert.deepEqual(pullContent, '6');

        const pollResponse2 = await fetch(`${URL}/socket.io/?EIO=4&transport=polling&sid=${sid}`);

        assert.deepEqual(pollResponse2.status, 400);
      });
    });

    describe('WebSocket', () => {
      it('should forcefully close the session', T, async () => {
        const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);

        await waitFor(socket, 'message'); // handshake

        socket.send('1');

        await waitFor(socket, 'close');
      });
    });
  });

  describe('upgrade', () => {
    it('should successfully upgrade from HTTP long-polling to WebSocket', T, async () => {
      const sid = await initLongPollingSession();

      const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);

      await waitFor(socket, 'open');

      // send probe
      socket.send('2probe');

      const probeResponse = await waitFor(socket, 'message');

      assert.deepEqual(probeResponse.data, '3probe');

      // complete upgrade
      socket.send('5');
    });

    it('should ignore HTTP requests with same sid after upgrade', T, async () => {
      const sid = await initLongPollingSession();

      const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);

      await waitFor(socket, 'open');
      socket.send('2probe');
      socket.send('5');

      const pollResponse = await fetch(`${URL}/socket.io/?EIO=4&transport=polling&sid=${sid}`);

      assert.deepEqual(pollResponse.status, 400);
    });

    it('should ignore WebSocket connection with same sid after upgrade', T, async () => {
      const sid = await initLongPollingSession();

      const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);

      await waitFor(socket, 'open');
      socket.send('2probe');
      socket.send('5');

      const socket2 = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);

      await waitFor(socket2, 'close');
    });
  });
});

describe('Socket.IO protocol', () => {
  describe('connect', () => {
    it('should allow connection to the main namespace', T, async () => {
      const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);

      await waitFor(socket, 'message'); // Engine.IO handshake

      socket.send('40');

      const { data } = await waitFor(socket, 'message');

      assertStartsWith(data, '40');

      const handshake = JSON.parse(data.substring(2));

      assertAllKeys(handshake, ['sid']);
      assert.equal(typeof handshake.sid, 'string');

      const authPacket = await waitFor(socket, 'message');

      assert.deepEqual(authPacket.data, '42["auth",{}]');
    });

    it('should allow connection to the main namespace with a payload', T, async () => {
      const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);

      await waitFor(socket, 'message'); // Engine.IO handshake

      socket.send('40{"token":"123"}');

      const { data } = await waitFor(socket, 'message');

      assertStartsWith(data, '40');

      const handshake = JSON.parse(data.substring(2));

      assertAllKeys(handshake, ['sid']);
      assert.equal(typeof handshake.sid, 'string');

      const authPacket = await waitFor(socket, 'message');

      assert.deepEqual(authPacket.data, '42["auth",{"token":"123"}]');
    });

    it('should allow connection to a custom namespace', T, async () => {
      const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);

      await waitFor(socket, 'message'); // Engine.IO handshake

      socket.send('40/custom,');

      const { data } = await waitFor(socket, 'message');

      assertStartsWith(data, '40/custom,');

      const handshake = JSON.parse(data.substring(10));

      assertAllKeys(handshake, ['sid']);
      assert.equal(typeof handshake.sid, 'string');

      const authPacket = await waitFor(socket, 'message');

      assert.deepEqual(authPacket.data, '42/custom,["auth",{}]');
    });

    it('should allow connection to a custom namespace with a payload', T, async () => {
      const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);

      await waitFor(socket, 'message'); // Engine.IO handshake

      socket.send('40/custom,{"token":"abc"}');

      const { data } = await waitFor(socket, 'message');

      assertStartsWith(data, '40/custom,');

      const handshake = JSON.parse(data.substring(10));

      assertAllKeys(handshake, ['sid']);
      assert.equal(typeof handshake.sid, 'string');

      const authPacket = await waitFor(socket, 'message');

      assert.deepEqual(authPacket.data, '42/custom,["auth",{"token":"abc"}]');
    });

    it('should disallow connection to an unknown namespace', T, async () => {
      const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);

      await waitFor(socket, 'message'); // Engine.IO handshake

      socket.send('40/random');

      const { data } = await waitFor(socket, 'message');

      assert.deepEqual(data, '44/random,{"message":"Invalid namespace"}');
    });

    it('should disallow connection with an invalid handshake', T, async () => {
      const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);

      await waitFor(socket, 'message'); // Engine.IO handshake

      socket.send('4abc');

      await waitFor(socket, 'close');
    });

    it('should close the connection if no handshake is received', T, async () => {
      const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);

      await waitFor(socket, 'close');
    });
  });

  describe('disconnect', () => {
    it('should disconnect from the main namespace', T, async () => {
      const socket = await initSocketIOConnection();

      socket.send('41');

      const { data } = await waitFor(socket, 'message');

      assert.deepEqual(data, '2');
    });

    it('should connect then disconnect from a custom namespace', T, async () => {
      const socket = await initSocketIOConnection();

      await waitFor(socket, 'message'); // ping

      socket.send('40/custom');

      await waitFor(socket, 'message'); // Socket.IO handshake
      await waitFor(socket, 'message'); // auth packet

      socket.send('41/custom');
      socket.send('42["message","message to main namespace"]');

      const { data } = await waitFor(socket, 'message');

      assert.deepEqual(data, '42["message-back","message to main namespace"]');
    });
  });

  describe('message', () => {
    it('should send a plain-text packet', T, async () => {
      const socket = await initSocketIOConnection();

      socket.send('42["message",1,"2",{"3":[true]}]');

      const { data } = await waitFor(socket, 'message');

      assert.deepEqual(data, '42["message-back",1,"2",{"3":[true]}]');
    });

    it('should send a packet with binary attachments', T, async () => {
      const socket = await initSocketIOConnection();

      socket.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
      socket.send(Uint8Array.from([1, 2, 3]));
      socket.send(Uint8Array.from([4, 5, 6]));

      const packets = await waitForPackets(socket, 3);

      assert.deepEqual(packets[0], '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
      assertBinary(packets[1], [1, 2, 3]);
      assertBinary(packets[2], [4, 5, 6]);

      socket.close();
    });

    it('should send a plain-text packet with an ack', T, async () => {
      const socket = await initSocketIOConnection();

      socket.send('42456["message-with-ack",1,"2",{"3":[false]}]');

      const { data } = await waitFor(socket, 'message');

      assert.deepEqual(data, '43456[1,"2",{"3":[false]}]');
    });

    it('should send a packet with binary attachments and an ack', T, async () => {
      const socket = await initSocketIOConnection();

      socket.send('452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
      socket.send(Uint8Array.from([1, 2, 3]));
      socket.send(Uint8Array.from([4, 5, 6]));

      const packets = await waitForPackets(socket, 3);

      assert.deepEqual(packets[0], '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
      assertBinary(packets[1], [1, 2, 3]);
      assertBinary(packets[2], [4, 5, 6]);

      socket.close();
    });

    it('should close the connection upon invalid format (unknown packet type)', T, async () => {
      const socket = await initSocketIOConnection();

      socket.send('4abc');

      await waitFor(socket, 'close');
    });

    it('should close the connection upon invalid format (invalid payload format)', T, async () => {
      const socket = await initSocketIOConnection();

      socket.send('42{}');

      await waitFor(socket, 'close');
    });

    it('should close the connection upon invalid format (invalid ack id)', T, async () => {
      const socket = await initSocketIOConnection();

      socket.send('42abc["message-with-ack",1,"2",{"3":[false]}]');

      await waitFor(socket, 'close');
    });
  });
});

// ---------------------------------------------------------------------------
// NOT part of the upstream suite: extra wire checks of the protocol_server
// profile (connectTimeout 1000, CORS *, Socket.IO over HTTP long-polling),
// all of which pass against the reference Node.js socket.io server.
// Timing windows allow slack for a loaded machine but no early expiry.
// ---------------------------------------------------------------------------
describe('Socket.IO protocol_server profile (beyond the upstream suite)', () => {
  const SLACK = 300; // allowed lateness of a timer, in ms
  const EARLY = 50; // allowed earliness (clock granularity, handshake latency)

  const pollUrl = (sid) => `${URL}/socket.io/?EIO=4&transport=polling&sid=${sid}`;

  async function post(sid, body) {
    const response = await fetch(pollUrl(sid), { method: 'post', body });
    assert.equal(response.status, 200, `POST ${JSON.stringify(body)}`);
    assert.equal(await response.text(), 'ok');
  }

  // GETs until `count` non-ping packets have arrived; returns them.
  async function pollPackets(sid, count) {
    const deadline = performance.now() + WAIT_TIMEOUT;
    const packets = [];
    while (packets.length < count) {
      assert.ok(performance.now() < deadline, `only ${packets.length} of ${count} packets: ${JSON.stringify(packets)}`);
      const response = await fetch(pollUrl(sid));
      assert.equal(response.status, 200);
      for (const packet of (await response.text()).split('\x1e')) {
        if (packet !== '2') packets.push(packet);
      }
    }
    return packets;
  }

  it('closes a session that answers pings but never sends CONNECT, after connectTimeout', T_HEARTBEAT, async () => {
    const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);

    await waitFor(socket, 'message'); // Engine.IO handshake
    const t0 = performance.now();

    const answerPings = (event) => {
      if (event.data === '2') socket.send('3');
    };
    socket.addEventListener('message', answerPings);

    await waitFor(socket, 'close', CONNECT_TIMEOUT + SLACK + 500);
    const closedAt = performance.now() - t0;
    assert.ok(
      closedAt >= CONNECT_TIMEOUT - EARLY && closedAt <= CONNECT_TIMEOUT + SLACK,
      `closed after ${closedAt.toFixed(0)} ms, expected about ${CONNECT_TIMEOUT} ms`,
    );
  });

  it('keeps a connected socket that answers pings past connectTimeout', T_HEARTBEAT, async () => {
    const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);
    await waitFor(socket, 'message'); // Engine.IO handshake
    const t0 = performance.now();
    socket.send('40');
    assertStartsWith((await waitFor(socket, 'message')).data, '40{');
    assert.equal((await waitFor(socket, 'message')).data, '42["auth",{}]');

    while (performance.now() - t0 < CONNECT_TIMEOUT + PING_INTERVAL) {
      const { data } = await waitFor(socket, 'message');
      assert.equal(data, '2');
      socket.send('3');
    }
    socket.send('42["message","still here"]');
    assert.equal((await waitFor(socket, 'message')).data, '42["message-back","still here"]');
    assert.equal(socket._eventBuffer.close.length, 0);
    socket.close();
  });

  it('uses a Socket.IO sid different from the Engine.IO sid', T, async () => {
    const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);
    const open = JSON.parse((await waitFor(socket, 'message')).data.substring(1));
    socket.send('40');
    const { data } = await waitFor(socket, 'message');
    assertStartsWith(data, '40');
    const connect = JSON.parse(data.substring(2));
    assert.equal(typeof connect.sid, 'string');
    assert.notEqual(connect.sid, open.sid);
    socket.close();
  });

  it('refuses an unknown namespace written with a trailing comma', T, async () => {
    const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);
    await waitFor(socket, 'message'); // Engine.IO handshake
    socket.send('40/random,{"token":"x"}');
    assert.equal((await waitFor(socket, 'message')).data, '44/random,{"message":"Invalid namespace"}');
    socket.close();
  });

  it('HTTP long-polling: CORS allows any origin', T, async () => {
    const response = await fetch(`${URL}/socket.io/?EIO=4&transport=polling`, {
      headers: { Origin: 'http://example.com' },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('access-control-allow-origin'), '*');
    await response.text();

    const preflight = await fetch(`${URL}/socket.io/?EIO=4&transport=polling`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'http://example.com',
        'Access-Control-Request-Method': 'POST',
      },
    });
    assert.ok(preflight.status >= 200 && preflight.status < 300, `preflight status ${preflight.status}`);
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
    await preflight.text();
  });

  it('HTTP long-polling: connect with auth, event, ack', T, async () => {
    const sid = await initLongPollingSession();

    await post(sid, '40{"token":"x"}');
    const [connect, auth] = await pollPackets(sid, 2);
    assertStartsWith(connect, '40{');
    assertAllKeys(JSON.parse(connect.substring(2)), ['sid']);
    assert.equal(auth, '42["auth",{"token":"x"}]');

    await post(sid, '42["message",{"a":1}]\x1e421["message-with-ack","z"]');
    assert.deepEqual(await pollPackets(sid, 2), ['42["message-back",{"a":1}]', '431["z"]']);
  });

  it('HTTP long-polling: binary event and binary ack travel as b<base64> packets', T, async () => {
    const sid = await initLongPollingSession();

    await post(sid, '40');
    await pollPackets(sid, 2); // CONNECT reply, auth

    await post(sid, '451-["message",{"_placeholder":true,"num":0}]\x1ebAQID');
    assert.deepEqual(await pollPackets(sid, 2), ['451-["message-back",{"_placeholder":true,"num":0}]', 'bAQID']);

    await post(sid, '452-7["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]\x1ebAQID\x1ebBAUG');
    assert.deepEqual(await pollPackets(sid, 3), [
      '462-7[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
      'bAQID',
      'bBAUG',
    ]);
  });
});
