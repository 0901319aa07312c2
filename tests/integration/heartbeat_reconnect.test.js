// Heartbeat: the server pings, drops a client that stops answering after
// pingInterval + pingTimeout, and keeps an answering one. Reconnection of
// socket.io-client after roomcastd restarts on the same port.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startRoomcastd } from '../support/process.js';
import { freePort, stopServer, useRoomcastd } from '../support/fixtures.js';
import { RawWs, pollingSessionGone, pollingSioSession } from '../support/raw.js';
import { baseUrl, connect, emitWithAck, expectNoEvent, makeSocket, roomsOf, sleep, waitFor, waitForArgs, withTimeout } from '../support/sio.js';

const kInterval = 300;
const kTimeout = 200;
// Expiry is due at interval + timeout after the handshake; allow scheduling slack.
const kEarliest = kInterval + kTimeout - 50;
const kLatest = kInterval + kTimeout + 700;

describe('heartbeat', () => {
  const fx = useRoomcastd([`--ping_interval_ms=${kInterval}`, `--ping_timeout_ms=${kTimeout}`, '--enable_client_broadcast']);

  it('announces the configured interval and timeout in the handshake', async () => {
    const raw = await RawWs.open(fx.port);
    try {
      const open = await raw.next().then((p) => JSON.parse(p.slice(1)));
      assert.equal(open.pingInterval, kInterval);
      assert.equal(open.pingTimeout, kTimeout);
      assert.deepEqual(open.upgrades, []);
      assert.equal(open.maxPayload, 1000000);
    } finally {
      raw.close();
    }
  });

  it('pings a WebSocket client and closes it when it does not answer', async () => {
    const started = Date.now();
    const raw = await RawWs.openSio(fx.port);
    try {
      const ping = await raw.next(kInterval + 500);
      const pingAt = Date.now() - started;
      assert.equal(ping, '2');
      assert.ok(pingAt >= kInterval - 50, `first ping after ${pingAt} ms, interval is ${kInterval}`);
      const { at } = await raw.waitClosed(kLatest + 1000);
      const closedAt = at - started;
      assert.ok(closedAt >= kEarliest && closedAt <= kLatest, `closed ${closedAt} ms after connecting`);
    } finally {
      raw.close();
    }
  });

  it('keeps a WebSocket client that answers every ping', async () => {
    const raw = await RawWs.openSio(fx.port);
    try {
      let pings = 0;
      const deadline = Date.now() + 4 * kInterval + 200;
      while (Date.now() < deadline) {
        let packet;
        try {
          packet = await raw.next(deadline - Date.now());
        } catch {
          break; // deadline reached without another packet
        }
        if (packet === '2') {
          pings += 1;
          raw.send('3');
        }
      }
      assert.ok(pings >= 3, `saw ${pings} pings`);
      assert.equal(raw.isOpen, true);
    } finally {
      raw.close();
    }
  });

  it('expires a polling session whose client stops polling', async () => {
    const { sid } = await pollingSioSession(fx.port);
    await sleep(kInterval + kTimeout + 300);
    const result = await pollingSessionGone(fx.port, sid);
    assert.ok(result.gone, `session still alive: ${JSON.stringify(result.seen)}`);
  });

  it('disconnects a socket.io-client whose engine drops its pongs', async () => {
    const socket = fx.track(makeSocket(fx.url(), { transports: ['websocket'] }));
    const connected = waitFor(socket, 'connect');
    socket.connect();
    await connected;
    const started = Date.now();
    const engine = socket.io.engine;
    const sendPacket = engine._sendPacket.bind(engine);
    engine._sendPacket = (type, ...rest) => (type === 'pong' ? undefined : sendPacket(type, ...rest));
    const [reason] = await waitForArgs(socket, 'disconnect', kLatest + 1000);
    const after = Date.now() - started;
    assert.equal(reason, 'transport close', `client saw "${reason}" after ${after} ms`);
    assert.ok(after <= kLatest, `disconnected ${after} ms after connect`);
  });

  for (const transports of [['websocket'], ['polling']]) {
    it(`keeps an answering socket.io-client (${transports[0]}) across several ping cycles`, async () => {
      const socket = await fx.connect({ transports });
      let pings = 0;
      socket.io.on('ping', () => (pings += 1));
      await expectNoEvent(socket, 'disconnect', 4 * kInterval + 200);
      assert.ok(pings >= 3, `client saw ${pings} pings`);
      assert.deepEqual(await roomsOf(socket), []);
    });
  }
});

describe('reconnection', () => {
  it('reconnects after roomcastd restarts on the same port and rejoins auth rooms', async (t) => {
    const port = await freePort();
    const flags = [`--port=${port}`, '--host=127.0.0.1', '--enable_client_broadcast'];
    let server = await startRoomcastd(flags);
    t.after(() => stopServer(server));
    assert.equal(server.port, port);

    const socket = makeSocket(baseUrl(port), {
      transports: ['websocket'],
      auth: { rooms: ['sticky'] },
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 200,
      randomizationFactor: 0,
      reconnectionAttempts: 50,
    });
    t.after(() => socket.close());
    const connected = waitFor(socket, 'connect');
    socket.connect();
    await connected;
    const firstId = socket.id;
    assert.deepEqual(await roomsOf(socket), ['sticky']);

    const disconnected = waitForArgs(socket, 'disconnect');
    const attempted = waitFor(socket.io, 'reconnect_attempt');
    await stopServer(server);
    const [reason] = await disconnected;
    assert.equal(reason, 'transport close');
    await attempted;

    const reconnected = waitFor(socket, 'connect', 8000);
    server = await startRoomcastd(flags);
    await reconnected;
    assert.notEqual(socket.id, firstId, 'a restarted server issues a new socket id');
    assert.deepEqual(await roomsOf(socket), ['sticky']);

    const other = await connect(baseUrl(port), { transports: ['polling'] });
    t.after(() => other.close());
    const got = waitFor(socket, 'back');
    assert.deepEqual(await emitWithAck(other, 'broadcast', { room: 'sticky', event: 'back', data: 'again' }), { ok: true, recipients: 1 });
    assert.equal(await withTimeout(got, 3000, 'event after reconnect'), 'again');
  });
});
