// The reference server for the benchmarks: socket.io 4.8.4 on Node's http
// server, offering the part of Roomcast's contract that bench/run.mjs drives.
//
//   client event `join` (a room name or a list of them, with an ack)
//       -> joins, acks {"ok":true,"rooms":[...rooms but the socket's own id]}
//   POST /api/socket/emit {"room"?, "rooms"?, "event", "data"}
//       -> emits to the room(s), namespace-wide when none;
//          200 {"recipients":"<n>"} (a string, as Roomcast's uint64 JSON)
//   client event `bench:ask` (anything, with an ack) -> acks {"ok":true}
//       in process: what a socket.io app does where Roomcast hands the event
//       to a service (the client-events-* scenarios: roomcastd + bench/consumer,
//       whose acks carry the same {"ok":true})
//   client event `bench:tell` (no ack) -> counted; at the stop one JSON line
//       {"events","receive_s","events_per_s"} (client-events-stream)
//
//   PORT=3002 HOST=127.0.0.1 node server.mjs      (or --port=3002 --host=...)
//   REDIS_URL=redis://127.0.0.1:6379 node server.mjs   (or --redis_url=...)
//   RECOVERY_MS=120000 node server.mjs                 (or --recovery_ms=...)
//
// With REDIS_URL, @socket.io/redis-adapter 8.3.0 (on the `redis` 4.7.1
// client: one connection to publish, a duplicate to subscribe) makes several
// of these servers one: an emit on any of them reaches the sockets of all.
// The `recipients` of an emit then count this server's sockets only.
// Without it, one server on socket.io's in-memory adapter.
//
// With RECOVERY_MS > 0, socket.io's connection state recovery
// (`connectionStateRecovery: { maxDisconnectionDuration: RECOVERY_MS }`,
// middlewares skipped on a recovered connection, as by default): a client
// that lost its transport and comes back within that time gets its id, its
// rooms and every event it missed, and each room emit carries its offset as
// an extra last argument. Off by default (0 or unset), as in socket.io; the
// recovery-storm scenario turns it on. Not with REDIS_URL: the classic Redis
// adapter keeps no sessions (socket.io then recovers nothing).
//
// Prints `listening <port>` once it accepts (with Redis: once both Redis
// connections are up). Nothing is logged per event.
import http from 'node:http';
import { Server } from 'socket.io';

const kEmitPath = '/api/socket/emit';
const kMaxBodyBytes = 1 << 20;

function option(name, envName, fallback) {
  const prefix = `--${name}=`;
  const arg = process.argv.slice(2).find((a) => a.startsWith(prefix));
  if (arg) return arg.slice(prefix.length);
  return process.env[envName] ?? fallback;
}

const port = Number(option('port', 'PORT', '3002'));
const host = option('host', 'HOST', '127.0.0.1');
const redisUrl = option('redis_url', 'REDIS_URL', '');
const recoveryText = option('recovery_ms', 'RECOVERY_MS', '');
const recoveryMs = recoveryText === '' ? 0 : Number(recoveryText);
if (!Number.isInteger(recoveryMs) || recoveryMs < 0) {
  process.stderr.write(`RECOVERY_MS / --recovery_ms must be a whole number of milliseconds >= 0, not ${recoveryText}\n`);
  process.exit(2);
}

const isRoomList = (v) => Array.isArray(v) && v.length > 0 && v.every((r) => typeof r === 'string' && r !== '');
const roomsOf = (socket) => [...socket.rooms].filter((r) => r !== socket.id);

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

// Registered before socket.io attaches, which then passes it only what is
// not under /socket.io/.
const httpServer = http.createServer(onRequest);
// Longer than Node's 5 s default, so that an emitter sending once every few
// seconds (a low --emit_rate spread over 16 connections) keeps its connection.
httpServer.keepAliveTimeout = 65000;

const io = new Server(httpServer, {
  pingInterval: 25000,
  pingTimeout: 20000,
  maxHttpBufferSize: 1e6,
  serveClient: false,
  ...(recoveryMs > 0 ? { connectionStateRecovery: { maxDisconnectionDuration: recoveryMs, skipMiddlewares: true } } : {}),
});

if (redisUrl !== '') {
  // Loaded only here: without REDIS_URL the server needs socket.io alone.
  const { createAdapter } = await import('@socket.io/redis-adapter');
  const { createClient } = await import('redis');
  const pubClient = createClient({ url: redisUrl });
  const subClient = pubClient.duplicate();
  for (const [name, client] of [['publish', pubClient], ['subscribe', subClient]]) {
    client.on('error', (err) => process.stderr.write(`redis (${name}): ${err.message}\n`));
  }
  await Promise.all([pubClient.connect(), subClient.connect()]);
  io.adapter(createAdapter(pubClient, subClient));
}

// `bench:tell` events (no ack): how many came, the first's and the last's
// arrival; printed as one JSON line at the stop, like bench/consumer's.
const told = { events: 0, first: undefined, last: undefined };

io.on('connection', (socket) => {
  socket.on('join', (rooms, ack) => {
    const list = typeof rooms === 'string' && rooms !== '' ? [rooms] : rooms;
    if (!isRoomList(list)) {
      if (typeof ack === 'function') {
        ack({ ok: false, error: { code: 'invalid_room', message: 'a room name or a list of room names' } });
      }
      return;
    }
    socket.join(list);
    if (typeof ack === 'function') ack({ ok: true, rooms: roomsOf(socket) });
  });
  socket.on('bench:ask', (data, ack) => {
    if (typeof ack === 'function') ack({ ok: true });
  });
  socket.on('bench:tell', () => {
    const now = process.hrtime.bigint();
    told.first ??= now;
    told.last = now;
    told.events += 1;
  });
});

function emit(body) {
  const { room, rooms, event, data } = body ?? {};
  if (typeof event !== 'string' || event === '') return [400, { error: '`event` must be a non-empty string' }];
  if (room !== undefined && (typeof room !== 'string' || room === '')) return [400, { error: '`room` must be a string' }];
  if (rooms !== undefined && !isRoomList(rooms)) return [400, { error: '`rooms` must be a list of strings' }];
  const targets = [...(room !== undefined ? [room] : []), ...(rooms ?? [])];
  const nsp = io.of('/');
  let recipients = 0;
  try {
    if (targets.length === 0) {
      nsp.emit(event, data);
      recipients = io.engine.clientsCount;
    } else {
      nsp.to(targets).emit(event, data);
      for (const r of targets) recipients += nsp.adapter.rooms.get(r)?.size ?? 0;
    }
  } catch (err) {
    return [400, { error: err.message }]; // a reserved event name
  }
  return [200, { recipients: String(recipients) }];
}

function onRequest(req, res) {
  if (req.url.split('?')[0] !== kEmitPath) return reply(res, 404, { error: 'no such route' });
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return reply(res, 405, { error: 'method not allowed' });
  }
  const chunks = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > kMaxBodyBytes) tooLarge = true;
    else if (!tooLarge) chunks.push(chunk);
  });
  req.on('end', () => {
    if (tooLarge) return reply(res, 413, { error: `body over ${kMaxBodyBytes} bytes` });
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks, size).toString('utf8'));
    } catch (err) {
      return reply(res, 400, { error: `malformed JSON: ${err.message}` });
    }
    const [status, answer] = emit(body);
    reply(res, status, answer);
  });
}

httpServer.listen(port, host, () => {
  process.stdout.write(`listening ${httpServer.address().port}\n`);
});

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  if (told.events > 0) {
    const receiveS = Number(told.last - told.first) / 1e9;
    const eventsPerS = receiveS > 0 ? (told.events - 1) / receiveS : 0;
    process.stdout.write(`${JSON.stringify({ events: told.events, receive_s: receiveS, events_per_s: eventsPerS })}\n`);
  }
  // io.close() disconnects every socket and closes the http server.
  io.close(() => process.exit(0));
  httpServer.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
