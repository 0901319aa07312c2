// The socket.io-client end of scripts/image.sh's checks on the running image.
//
//   node image/client.mjs emit URL [API_KEY]
//     Connects, joins a room, POSTs an emit to URL/api/socket/emit with curl
//     (as a service would), and exits 0 once the socket received exactly that
//     event with that data; 1 on a timeout, a wrong answer or a wrong payload.
//   node image/client.mjs hold URL
//     Connects and prints "connected"; then waits (at most 60 s) for the server
//     to end the connection (the drain closes every session) and prints
//     "disconnected REASON after MS ms". Exits 0 if the server ended it.
//
// Every step is bounded in time; reconnection is off.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { io } from 'socket.io-client';

const kStepMs = 5000;

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function connect(url) {
  const socket = io(url, { forceNew: true, reconnection: false, timeout: kStepMs, transports: ['websocket'] });
  const connected = new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
  return withTimeout(connected, kStepMs, `connect to ${url}`).catch((err) => {
    socket.close();
    throw err;
  });
}

function curl(args) {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--max-time', '5', ...args], (err, stdout, stderr) => {
      if (err) reject(new Error(`curl ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

async function emit(url, key) {
  const socket = await connect(url);
  try {
    const room = `image-check-${randomUUID()}`;
    const ack = await socket.timeout(kStepMs).emitWithAck('join', room);
    if (!ack?.ok || !ack.rooms?.includes(room)) throw new Error(`join answered ${JSON.stringify(ack)}`);

    const data = { nonce: randomUUID(), text: 'hello from the image check' };
    const received = withTimeout(new Promise((resolve) => socket.once('image.check', resolve)),
      kStepMs, 'the emitted event');
    const headers = ['-H', 'content-type: application/json'];
    if (key) headers.push('-H', `authorization: Bearer ${key}`);
    const answer = JSON.parse(await curl(['-X', 'POST', `${url}/api/socket/emit`, ...headers,
      '-d', JSON.stringify({ room, event: 'image.check', data })]));
    if (answer.recipients !== '1') throw new Error(`emit answered ${JSON.stringify(answer)}`);
    const got = await received;
    if (JSON.stringify(got) !== JSON.stringify(data)) {
      throw new Error(`received ${JSON.stringify(got)}, emitted ${JSON.stringify(data)}`);
    }
    console.log(`received ${JSON.stringify(got)} (emit answered ${JSON.stringify(answer)})`);
  } finally {
    socket.close();
  }
}

async function hold(url) {
  const socket = await connect(url);
  console.log('connected');
  const started = Date.now();
  const reason = await withTimeout(new Promise((resolve) => socket.once('disconnect', resolve)),
    60000, 'the server to end the connection');
  console.log(`disconnected ${reason} after ${Date.now() - started} ms`);
  // 'io server disconnect' (a DISCONNECT packet) or 'transport close' (the
  // connection closed): the server's doing, not this client's.
  if (reason !== 'io server disconnect' && reason !== 'transport close') {
    throw new Error(`unexpected disconnect reason ${reason}`);
  }
}

const [mode, url, key] = process.argv.slice(2);
const modes = { emit: () => emit(url, key), hold: () => hold(url) };
if (!modes[mode] || !url) {
  console.error('usage: node image/client.mjs emit URL [API_KEY] | hold URL');
  process.exit(2);
}
modes[mode]().then(
  () => process.exit(0),
  (err) => {
    console.error(`client.mjs ${mode}: ${err.message}`);
    process.exit(1);
  },
);
