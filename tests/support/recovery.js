// Connection state recovery helpers shared by the single-node and the cluster
// suites: numbered emits through the HTTP API, a socket.io-client behind a
// loopback proxy (./proxy.js) whose connection the test cuts and restores,
// and a log of everything that socket sees, so "nothing lost, nothing twice,
// in order" is one comparison of view(log) with the expected list.
import assert from 'node:assert/strict';
import { api, okJson, u64 } from './control.js';
import { startProxy } from './proxy.js';
import { baseUrl, join, kStepTimeoutMs, makeSocket, sleep, waitFor, waitForArgs, withTimeout } from './sio.js';

// Reconnection fast and bounded: 50-100 ms between attempts, at most ~30 s.
export const kReconnect = {
  reconnection: true,
  reconnectionDelay: 50,
  reconnectionDelayMax: 100,
  randomizationFactor: 0,
  reconnectionAttempts: 300,
};

// The markers record() puts in a log for a connect (fresh or recovered) and
// a disconnect, between the events.
export const kConnected = 'connected';
export const kRecovered = 'recovered';
export const kDisconnected = 'disconnect';

/** POST /v1/emit on `port`; asserts 200 and resolves { recipients, offset (BigInts), epoch }. */
export async function postEmit(port, request) {
  const body = okJson(await api(port, 'POST', '/v1/emit', request));
  return { recipients: u64(body.recipients, 'recipients'), offset: u64(body.offset, 'offset'), epoch: body.epoch };
}

/**
 * Emits event `n` with data from..to (numbers) through `port`, one after the
 * other, with `request`'s targeting; asserts the log numbered them in
 * increasing order and, with `oneEpoch`, in one epoch. Resolves the answers
 * (see postEmit).
 */
export async function emitNumbered(port, from, to, request = {}, { oneEpoch = false } = {}) {
  const results = [];
  for (let i = from; i <= to; i += 1) results.push(await postEmit(port, { event: 'n', ...request, data: i }));
  for (let i = 1; i < results.length; i += 1) {
    assert.ok(results[i].offset > results[i - 1].offset, `emit offsets increase: ${results.map((r) => r.offset).join(',')}`);
    if (oneEpoch) assert.equal(results[i].epoch, results[i - 1].epoch, 'one epoch');
  }
  return results;
}

/** from, from + 1, ..., to. */
export const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * Records what `socket` sees, in order: every event with all its arguments,
 * and its connects (with id and recovered) and disconnects (with reason).
 */
export function record(socket) {
  const log = [];
  socket.onAny((event, ...args) => log.push({ event, args }));
  socket.on('connect', () => log.push({ event: socket.recovered ? kRecovered : kConnected, id: socket.id, recovered: socket.recovered }));
  socket.on('disconnect', (reason) => log.push({ event: kDisconnected, reason }));
  return log;
}

/**
 * The log as a compact list: event `n` as its number, other events as
 * `name=<json of the first argument>`, and the connect/disconnect markers.
 */
export function view(log) {
  return log.map((entry) => {
    if (entry.event === 'n') return entry.args[0];
    if ([kConnected, kRecovered, kDisconnected].includes(entry.event)) return entry.event;
    return `${entry.event}=${JSON.stringify(entry.args[0])}`;
  });
}

/** How many entries of `log` are `event` (an event name or a marker). */
export const countOf = (log, event = 'n') => log.filter((entry) => entry.event === event).length;

/** The socket id at each connect in `log`, fresh or recovered. */
export const idsOf = (log) => log.filter((entry) => entry.event === kConnected || entry.event === kRecovered).map((entry) => entry.id);

/** Waits until the log holds `n` events named `event`, then `settleMs` for extras (duplicates) to show. */
export async function received(log, n, { event = 'n', timeoutMs = 5000, settleMs = 300 } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (countOf(log, event) < n) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${n} "${event}" events; the log: ${JSON.stringify(view(log))}`);
    }
    await sleep(20);
  }
  await sleep(settleMs);
}

/** Every logged event `event` in `log` has exactly one data argument plus a non-empty string offset; offsets distinct. */
export function assertOffsets(log, event = 'n') {
  const offsets = [];
  for (const entry of log.filter((e) => e.event === event)) {
    assert.equal(entry.args.length, 2, `"${event}" carries its data and an offset: ${JSON.stringify(entry.args)}`);
    assert.equal(typeof entry.args[1], 'string', `the offset is a string: ${JSON.stringify(entry.args)}`);
    assert.notEqual(entry.args[1], '', 'the offset is not empty');
    offsets.push(entry.args[1]);
  }
  assert.equal(new Set(offsets).size, offsets.length, `offsets are distinct: ${JSON.stringify(offsets)}`);
}

/**
 * A proxy to `server` (anything with a port: a useRoomcastd fixture, a
 * started node) and a socket.io-client (WebSocket, fast bounded
 * reconnection, then `opts`) connected through it to `nsp`, recorded from
 * the start and joined to `rooms` when given; both closed after the test.
 * Resolves { proxy, socket, log, id } (id: the first session's socket id).
 */
export async function proxiedClient(t, server, { opts = {}, nsp = '', rooms } = {}) {
  const proxy = await startProxy({ target: server.port });
  const socket = makeSocket(proxy.url + nsp, { transports: ['websocket'], ...kReconnect, ...opts });
  t.after(async () => {
    socket.close();
    await proxy.close();
  });
  const log = record(socket);
  const connected = new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  socket.connect();
  await withTimeout(connected, kStepTimeoutMs + 1000, `connect through the proxy to ${baseUrl(server.port)}${nsp}`);
  if (rooms !== undefined) await join(socket, rooms);
  return { proxy, socket, log, id: socket.id };
}

/**
 * A proxiedClient in `room` that has received the first numbered event (`n`
 * with data 1, emitted to that room): a session with a last offset, for a
 * reconnect to be recovered (or not) from. Resolves as proxiedClient.
 */
export async function clientAfterFirstEvent(t, server, room) {
  const client = await proxiedClient(t, server, { rooms: room });
  await emitNumbered(server.port, 1, 1, { rooms: [room] });
  await received(client.log, 1, { settleMs: 0 });
  return client;
}

/**
 * Holds the client off (the proxy refuses new connections) and cuts its
 * connection with `by` (default: drop every proxied connection, which the
 * client sees as a transport close; or kill its node). Resolves the
 * disconnect reason.
 */
export async function cutOff(proxy, socket, { by = () => proxy.dropAll() } = {}) {
  proxy.refuse(true);
  const gone = waitForArgs(socket, 'disconnect', 5000);
  await by();
  const [reason] = await gone;
  return reason;
}

/**
 * Lets the held-off client back in and resolves, once `socket` (and every
 * socket in `also`) fired `connect`, how long that took (ms); fails after
 * `timeoutMs`.
 */
export async function letBackIn(proxy, socket, { also = [], timeoutMs = 10000 } = {}) {
  const back = Promise.all([socket, ...also].map((s) => waitFor(s, 'connect', timeoutMs)));
  const t0 = Date.now();
  proxy.refuse(false);
  await back;
  return Date.now() - t0;
}

/**
 * Cuts the client's connection (see cutOff) and refuses its reconnection
 * attempts while `whileAway()` runs; then lets it back in (see letBackIn).
 * Resolves { reason, disconnectedAt, connectedAt }.
 */
export async function cutAndReconnect(proxy, socket, whileAway = async () => {}, { also = [] } = {}) {
  const reason = await cutOff(proxy, socket);
  const disconnectedAt = Date.now();
  await whileAway();
  await letBackIn(proxy, socket, { also });
  return { reason, disconnectedAt, connectedAt: Date.now() };
}

/**
 * A clean disconnect (socket.disconnect(): the client says it is leaving, so
 * the server keeps nothing for it), `whileAway()`, then socket.connect();
 * resolves once it fired `connect`.
 */
export async function disconnectAndReconnect(socket, whileAway = async () => {}) {
  socket.disconnect();
  await whileAway();
  const back = waitFor(socket, 'connect', 5000);
  socket.connect();
  await back;
}
