// Shared by the browser-authentication suites (integration/auth_jwt.test.js,
// auth_nextauth.test.js, auth_room_policy.test.js): the secrets and namespace
// flags their servers use, an HS256 token minter, and the accept/refuse
// assertions that connect a real socket.io-client and check what the server
// did with it (the socket's rooms; a refusal's CONNECT_ERROR and nothing else).
import assert from 'node:assert/strict';
import jwt from 'jsonwebtoken';
import { Manager } from 'socket.io-client';
import { api, okJson } from './control.js';
import { connect, kStepTimeoutMs, roomsOf, sleep, withTimeout } from './sio.js';

/**
 * The servers of the auth suites get their settings from flags or from the
 * env each file passes; nothing from the environment the tests happen to run
 * in. Call at the top of a test file, before any server starts.
 */
export function clearAuthEnv() {
  for (const name of [
    'JWT_SECRET', 'ROOMCAST_JWT_PUBLIC_KEY_FILE', 'ROOMCAST_JWT_LEEWAY_S', 'ROOMCAST_JWT_ISSUER',
    'ROOMCAST_JWT_AUDIENCE', 'NEXTAUTH_SECRET', 'ROOMCAST_PUBLIC_NAMESPACES', 'NODE_ENV',
    'INTERNAL_API_KEY', 'ROOMCAST_INSECURE', 'ROOMCAST_NAMESPACES',
  ]) {
    delete process.env[name];
  }
}

export const kSecret = 'roomcast-test-jwt-secret-5b1e0c7d9a';
export const kOtherSecret = 'some-other-secret-0000000000000000';
export const kNextAuthSecret = 'nextauth-test-secret-8d2f41c3e6a7b9';
export const kNamespaceFlags = ['--namespaces=/,/public,/other', '--public_namespaces=/public'];

// Packet types of socket.io-parser.
const CONNECT_ERROR = 4;

export const now = () => Math.floor(Date.now() / 1000);

/** A JWS signed by jsonwebtoken; `claims` may carry exp/nbf/iss/aud. */
export function sign(claims, { secret = kSecret, algorithm = 'HS256' } = {}) {
  return jwt.sign(claims, secret, { algorithm });
}

/** Asserts an accepted connection: `socket`'s rooms are exactly [`user:<sub>`]. */
export async function assertUserRooms(socket, sub) {
  assert.deepEqual(await roomsOf(socket), [`user:${sub}`]);
}

function assertMessage(err, expected, what) {
  assert.ok(err instanceof Error, `${what}: expected a connect_error, got ${err}`);
  if (expected instanceof RegExp) assert.match(err.message, expected, what);
  else assert.equal(err.message, expected, what);
}

/**
 * Connects a socket to namespace `nsp` on a connection that is already
 * connected to the public namespace, and expects a refusal whose message is
 * `expected` (a string, exactly, or a RegExp). Then checks that nothing else
 * happens for that socket: the connection receives exactly one packet for
 * `nsp` (the CONNECT_ERROR) even when a service emits to the whole namespace,
 * the socket never counts as connected, and the same connection's public
 * socket still works. Finally `good` (connect options and the expected sub)
 * connects to the same server and is served, so the refusal left it working.
 */
export async function expectRefused(fx, { auth, headers, transports, nsp = '/' }, expected, good) {
  const manager = new Manager(fx.url(), {
    reconnection: false,
    autoConnect: false,
    timeout: kStepTimeoutMs,
    ...(transports ? { transports } : {}),
    ...(headers ? { extraHeaders: headers } : {}),
  });
  const packets = [];
  manager.on('packet', (packet) => packets.push(packet));
  let err;
  try {
    const pub = manager.socket('/public');
    await withTimeout(
      new Promise((resolve, reject) => {
        pub.once('connect', resolve);
        pub.once('connect_error', (e) => reject(new Error(`public namespace refused: ${e.message}`)));
        pub.connect();
      }),
      kStepTimeoutMs + 1000,
      'connect to /public',
    );
    const socket = manager.socket(nsp, auth === undefined ? {} : { auth });
    let connected = false;
    socket.on('connect', () => {
      connected = true;
    });
    err = await withTimeout(
      new Promise((resolve) => {
        socket.once('connect_error', resolve);
        socket.once('connect', () => resolve(new Error(`connected to ${nsp} (id ${socket.id}) instead of a refusal`)));
        socket.connect();
      }),
      kStepTimeoutMs + 1000,
      `connect_error on ${nsp}`,
    );
    assert.ok(!connected, `the socket connected to ${nsp}: ${err.message}`);
    assertMessage(err, expected, `CONNECT_ERROR message on ${nsp}`);
    // A service emits to every socket of the namespace: not to this one.
    okJson(await api(fx.port, 'POST', '/v1/emit', { namespace: nsp, event: 'after-refusal', data: 1 }));
    await sleep(250);
    const forNsp = packets.filter((p) => p.nsp === nsp);
    assert.deepEqual(
      forNsp.map((p) => p.type),
      [CONNECT_ERROR],
      `packets for ${nsp} after the refusal: ${JSON.stringify(forNsp)}`,
    );
    assert.equal(connected, false);
    assert.equal(socket.connected, false);
    // The connection itself is intact: its public socket is still served, anonymously.
    assert.ok(pub.connected, 'the public socket of the same connection is still connected');
    assert.deepEqual(await roomsOf(pub), []);
  } finally {
    manager.disconnect();
  }
  if (good) {
    const socket = await connect(fx.url('127.0.0.1', good.nsp ?? ''), good.opts);
    try {
      await assertUserRooms(socket, good.sub);
    } finally {
      socket.close();
    }
  }
  return err;
}

/** Connects with `opts` to `nsp` and asserts the socket is in exactly `user:<sub>`. */
export async function expectAccepted(fx, opts, sub, { nsp = '' } = {}) {
  const socket = await connect(fx.url('127.0.0.1', nsp), opts);
  try {
    await assertUserRooms(socket, sub);
  } finally {
    socket.close();
  }
}
