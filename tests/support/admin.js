// The Socket.IO Admin UI's side of its protocol, for the tests: an admin
// socket that records every event from the moment it connects (the server
// sends `session`, `config` and `all_sockets` right after the CONNECT), and
// the settings that turn the namespace on.
import bcrypt from 'bcryptjs';
import { makeSocket, withTimeout, kStepTimeoutMs } from './sio.js';

export const kAdminUser = 'admin';
export const kAdminPassword = 'correct horse battery staple';
// Cost 4: the lowest bcrypt allows, so logins stay fast in tests.
export const kAdminHash = bcrypt.hashSync(kAdminPassword, 4);
export const adminEnv = { ROOMCAST_ADMIN_USERNAME: kAdminUser, ROOMCAST_ADMIN_PASSWORD_HASH: kAdminHash };

/**
 * Connects to `${url}/admin` with `auth`; resolves { socket, events, next(event, pred, ms) }
 * or rejects with the connect_error.
 */
export function connectAdmin(url, auth = { username: kAdminUser, password: kAdminPassword }, opts = {}) {
  const socket = makeSocket(`${url}/admin`, { auth, ...opts });
  const events = [];
  const waiters = new Set();
  socket.onAny((event, ...args) => {
    events.push({ event, args });
    for (const waiter of [...waiters]) waiter();
  });
  /** Resolves the args of the first recorded `event` (seen already or to come) matching `pred`. */
  const next = (event, pred = () => true, ms = kStepTimeoutMs) => {
    let waiter;
    const found = new Promise((resolve) => {
      let from = 0;
      waiter = () => {
        for (; from < events.length; from++) {
          const e = events[from];
          if (e.event === event && pred(...e.args)) {
            waiters.delete(waiter);
            resolve(e.args);
            return;
          }
        }
      };
      waiters.add(waiter);
      waiter();
    });
    return withTimeout(found, ms, `admin event "${event}"`).finally(() => waiters.delete(waiter));
  };
  const connected = new Promise((resolve, reject) => {
    socket.once('connect', () => resolve({ socket, events, next }));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
  socket.connect();
  return withTimeout(connected, kStepTimeoutMs + 2000, 'admin connect');
}
