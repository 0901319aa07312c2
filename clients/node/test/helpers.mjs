// Shared by the package's tests: roomcastd through the repository's
// tests/support/process.js, socket.io-client sockets, clients that always get
// closed, and small bounded waits. Loopback only.
import net from 'node:net';
import { io } from 'socket.io-client';
import { RoomcastClient } from '@roomcast/client';
import { startRoomcastd } from '../../../tests/support/process.js';

export const kStepMs = 4000;

/** Resolves `promise`, or rejects after `ms` naming `what`. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `fn` until it returns a truthy value; rejects after `ms`. */
export async function waitUntil(fn, ms, what) {
  const until = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(25);
  }
}

/**
 * roomcastd with one shard on ephemeral ports (unless flags give them), its
 * environment free of the control-plane variables. `t.after` stops it.
 */
export async function startServer(t, flags = []) {
  const server = await startRoomcastd(['--shards=1', ...flags], { env: { INTERNAL_API_KEY: '' } });
  t?.after(() => stopServer(server));
  return server;
}

/** SIGKILL (a crash, not a drain) and wait for the exit, bounded. */
export async function stopServer(server) {
  if (!server) return;
  const { child } = server;
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await withTimeout(server.exited, 5000, 'roomcastd to exit');
}

/** A TCP port nobody listens on (was free on both families a moment ago). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '::', ipv6Only: false }, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A socket.io-client socket in `rooms`, connected over WebSocket; closed by `t.after`. */
export async function connectSocket(t, port, rooms, host = '127.0.0.1') {
  const url = host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
  const socket = io(url, { forceNew: true, reconnection: false, transports: ['websocket'], auth: { rooms }, timeout: kStepMs });
  t.after(() => socket.close());
  await withTimeout(
    new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    }),
    kStepMs,
    `socket.io connect to ${url}`,
  );
  return socket;
}

/** Every argument list `event` brings on `socket`, in order. */
export function collect(socket, event) {
  const seen = [];
  socket.on(event, (...args) => seen.push(args.length === 1 ? args[0] : args));
  return seen;
}

/**
 * A RoomcastClient that never reads the process environment, logs into
 * `client.logs` and is closed by `t.after`. Short timings keep tests quick.
 */
export function makeClient(t, options = {}) {
  const logs = [];
  const client = new RoomcastClient({
    env: {},
    deadlineMs: 4000,
    connectTimeoutMs: 500,
    recheckIntervalMs: 100,
    initialBackoffMs: 20,
    maxBackoffMs: 200,
    logger: (message) => logs.push(message),
    ...options,
  });
  client.logs = logs;
  t.after(() => client.close());
  return client;
}

/** Client options for a server: gRPC and HTTP both through `localhost`. */
export function targetsOf(server, host = 'localhost') {
  const h = host.includes(':') ? `[${host}]` : host;
  return { grpcTarget: `${h}:${server.grpcPort}`, httpUrl: `http://${h}:${server.port}` };
}

/** Rejects unless `promise` rejects; resolves the error. */
export async function rejection(promise) {
  try {
    const value = await promise;
    throw Object.assign(new Error(`expected a rejection, got ${JSON.stringify(value)}`), { unexpected: true });
  } catch (err) {
    if (err.unexpected) throw err;
    return err;
  }
}
