// Server lifecycle helpers for node:test files: one roomcastd per file (or per
// test), client sockets tracked and closed, the process always stopped.
import { after, before } from 'node:test';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { roomcastdPath, startRoomcastd } from './process.js';
import { baseUrl, closeAll, connect, withTimeout } from './sio.js';

/**
 * Stops a started server: sends `signal`, waits up to `timeoutMs`, then SIGKILLs.
 * Resolves { code, signal, killed } where killed says the SIGKILL was needed.
 */
export async function stopServer(server, { signal = 'SIGKILL', timeoutMs = 5000 } = {}) {
  if (!server) return null;
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return server.exited;
  child.kill(signal);
  try {
    return await withTimeout(server.exited, timeoutMs, `roomcastd exit after ${signal}`);
  } catch {
    child.kill('SIGKILL');
    return { ...(await server.exited), killed: true };
  }
}

/**
 * Registers before/after hooks that run one roomcastd with `flags` for the
 * enclosing file or describe block. Returns an object whose fields are filled
 * in `before`: server, port, url(host, nsp); connect(opts, {host, nsp}) tracks
 * sockets and closes them in `after`; `ready` resolves once the server runs.
 */
export function useRoomcastd(flags = [], options = {}) {
  const sockets = [];
  const fixture = {
    server: null,
    port: 0,
    url(host = '127.0.0.1', nsp = '') {
      return baseUrl(fixture.port, host) + nsp;
    },
    async connect(opts = {}, { host, nsp } = {}) {
      const socket = await connect(fixture.url(host, nsp), opts);
      sockets.push(socket);
      return socket;
    },
    track(socket) {
      sockets.push(socket);
      return socket;
    },
  };
  let started;
  // Node 20 runs sibling root-level before() hooks concurrently: other hooks
  // must `await fixture.ready` before using the server.
  fixture.ready = new Promise((resolve, reject) => {
    started = { resolve, reject };
  });
  fixture.ready.catch(() => {});
  before(async () => {
    try {
      fixture.server = await startRoomcastd(flags, options);
      fixture.port = fixture.server.port;
      started.resolve(fixture);
    } catch (err) {
      started.reject(err);
      throw err;
    }
  });
  after(async () => {
    closeAll(sockets);
    await stopServer(fixture.server);
  });
  return fixture;
}

/** A loopback TCP port that was free a moment ago (listen on 0, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Runs roomcastd with exactly `args` (no --port added) until it exits; kills it
 * after `timeoutMs`. Resolves { code, signal, stdout, stderr, timedOut }.
 */
export function runToExit(args, { env = {}, timeoutMs = 5000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(roomcastdPath, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr: stderr + String(err), timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}
