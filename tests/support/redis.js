// A throwaway redis-server (Debian's 7.0) on a free loopback port: no
// persistence, stopped and started again on the same port for fault tests.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { freePort } from './fixtures.js';
import { withTimeout } from './sio.js';

export const kRedisServer = process.env.ROOMCAST_REDIS_SERVER ?? '/usr/bin/redis-server';
export const redisAvailable = () => fs.existsSync(kRedisServer);

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
async function waitForPort(port, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts redis-server. Resolves { port, url, start(), stop(signal), pause(), resume(), output() }.
 * stop() ends the process (SIGKILL by default: Redis "going away"); start() brings a fresh,
 * empty one back on the same port.
 */
export async function startRedis({ args = [], tls } = {}) {
  const port = await freePort();
  // With `tls` ({cert, key, ca} files), the port speaks TLS only.
  const listen = tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key,
      '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', 'no']
    : ['--port', String(port)];
  let child = null;
  let output = '';
  const redis = {
    port,
    url: tls ? `rediss://localhost:${port}` : `redis://127.0.0.1:${port}`,
    output: () => output,
    async start() {
      child = spawn(kRedisServer, [...listen, '--bind', '127.0.0.1', '--save', '',
        '--appendonly', 'no', '--protected-mode', 'no', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (c) => (output += c));
      child.stderr.on('data', (c) => (output += c));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.exited = exited;
      await waitForPort(port);
    },
    async stop(signal = 'SIGKILL') {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await withTimeout(child.exited, 5000, 'redis-server exit');
    },
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    /** Runs redis-cli against this server; returns its stdout. */
    cli: (...argv) => execFileSync('redis-cli', ['-p', String(port), ...argv], { encoding: 'utf8' }),
  };
  await redis.start();
  return redis;
}
