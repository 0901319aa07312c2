// socket.io-client helpers shared by the integration tests: promise-returning
// connect / ack / event waits, all bounded in time.
import { io } from 'socket.io-client';

export const kStepTimeoutMs = 3000;

/** Base URL of a server on loopback; host is '127.0.0.1' or '::1'. */
export function baseUrl(port, host = '127.0.0.1') {
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

/** Resolves `promise`, or rejects after `ms` with a message naming `what`. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A socket.io-client socket that has not been asked to connect yet (reconnection off by default). */
export function makeSocket(url, opts = {}) {
  return io(url, { forceNew: true, reconnection: false, timeout: kStepTimeoutMs, autoConnect: false, ...opts });
}

/** Connects and resolves the connected socket; rejects with the connect_error (socket closed). */
export function connect(url, opts = {}) {
  const socket = makeSocket(url, opts);
  const result = new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
  socket.connect();
  return withTimeout(result, kStepTimeoutMs + 1000, `connect to ${url}`).catch((err) => {
    socket.close();
    throw err;
  });
}

/** Connects expecting a refusal; resolves the connect_error, rejects if the socket connects. */
export async function connectError(url, opts = {}) {
  let socket;
  try {
    socket = await connect(url, opts);
  } catch (err) {
    return err;
  }
  socket.close();
  throw new Error(`expected a connect_error from ${url}, but the socket connected`);
}

/** Emits `event` with args and resolves the (first) ack argument. */
export function emitWithAck(socket, event, ...args) {
  return socket.timeout(kStepTimeoutMs).emitWithAck(event, ...args);
}

/** Resolves the first argument of the next `event` on `emitter` (socket, manager or engine). */
export function waitFor(emitter, event, ms = kStepTimeoutMs) {
  let handler;
  const got = new Promise((resolve) => {
    handler = (first) => resolve(first);
    emitter.once(event, handler);
  });
  return withTimeout(got, ms, `event "${event}"`).finally(() => emitter.off(event, handler));
}

/** Resolves every argument of the next `event`, as an array. */
export function waitForArgs(emitter, event, ms = kStepTimeoutMs) {
  let handler;
  const got = new Promise((resolve) => {
    handler = (...args) => resolve(args);
    emitter.once(event, handler);
  });
  return withTimeout(got, ms, `event "${event}"`).finally(() => emitter.off(event, handler));
}

/** Resolves after `ms` if `event` did not fire on `emitter`; rejects with its args if it did. */
export function expectNoEvent(emitter, event, ms = 300) {
  return new Promise((resolve, reject) => {
    const handler = (...args) => {
      clearTimeout(timer);
      reject(new Error(`unexpected "${event}": ${JSON.stringify(args)}`));
    };
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      resolve();
    }, ms);
    emitter.once(event, handler);
  });
}

/** The server-side room list of `socket` via the built-in `rooms` ack. */
export async function roomsOf(socket) {
  const ack = await emitWithAck(socket, 'rooms');
  if (!ack || ack.ok !== true) throw new Error(`rooms ack not ok: ${JSON.stringify(ack)}`);
  return ack.rooms;
}

/** Joins `rooms` (string or array) and asserts an ok ack; resolves the ack. */
export async function join(socket, rooms) {
  const ack = await emitWithAck(socket, 'join', rooms);
  if (!ack || ack.ok !== true) throw new Error(`join ${JSON.stringify(rooms)} refused: ${JSON.stringify(ack)}`);
  return ack;
}

/** Uses the debug `broadcast` event (needs --enable_client_broadcast); resolves the ack. */
export function broadcast(socket, request) {
  return emitWithAck(socket, 'broadcast', request);
}

/** Closes every socket (ignores ones already closed). */
export function closeAll(sockets) {
  for (const socket of sockets.splice(0)) socket?.close();
}
