#!/usr/bin/env node
// The restart-storm benchmark: what a deploy does to a server behind a proxy.
// N socket.io-client 4.8 clients (WebSocket, socket.io-client's own default
// reconnection: 1 s, at most 5 s, randomization 0.5) connect from one address,
// 127.0.0.1 (a proxy's, a load balancer's, a NAT's), to a server on its
// default settings; the server is killed (SIGKILL) and started again on the
// same port at once; every client reconnects. Per server, roomcastd and the
// reference socket.io server in the same run, alternating: all_back_ms (the
// kill -> the last client's `connect`), p50/p99, the connect errors the
// clients saw (a refusal or a connection the new server closed), and the new
// server's CPU from its start until everyone is back. The clients run in
// --workers child processes (the open-file limit is per process).
//
//   node bench/storm/restart_storm.mjs [--connections=19000] [--servers=roomcast,socketio]
//        [--repeats=3] [--workers=2] [--timeout_s=60] [--json=FILE]
//
// Prints a table and, with --json, writes every run. Exits 1 when a run could
// not be measured (a server that does not start, clients that never connect).
import { fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSocketIoClient, sampleProcess } from './common.mjs';

const kRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const kBuildDir = path.resolve(process.env.ROOMCAST_BUILD_DIR ?? path.join(kRoot, 'build'));
const kHost = '127.0.0.1';
function fail(message) {
  process.stderr.write(`restart_storm: ${message}\n`);
  process.exit(1);
}

// ---------------------------------------------------------------- a worker

/**
 * A worker: on {connect: url, count}, connects `count` clients and answers
 * {connected}; then records each reconnection's time and, once every client
 * has reconnected, answers {back: [times], errors}.
 */
function runWorker() {
  const { io } = loadSocketIoClient(kRoot, fail);
  const sockets = [];
  const back = [];
  let errors = 0;
  process.on('message', ({ connect, count }) => {
    let connected = 0;
    for (let i = 0; i < count; i += 1) {
      const socket = io(connect, { transports: ['websocket'], forceNew: true });
      sockets.push(socket);
      socket.on('connect', () => {
        if (connected < count) {
          connected += 1;
          if (connected === count) process.send({ connected });
          return;
        }
        back.push(Date.now());
        if (back.length === count) process.send({ back, errors });
      });
      socket.io.on('reconnect_error', () => (errors += 1));
    }
  });
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------- servers

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, kHost, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const kServers = {
  // Its defaults, as shipped: nothing about limits is passed.
  roomcast: (port) => spawn(path.join(kBuildDir, 'server/roomcastd'),
    [`--host=${kHost}`, `--port=${port}`, '--grpc_port=0', '--log_level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] }),
  socketio: (port) => spawn(process.execPath, [path.join(kRoot, 'bench/reference/server.mjs')],
    { env: { ...process.env, PORT: String(port), HOST: kHost }, stdio: ['ignore', 'pipe', 'pipe'] }),
};

/** Resolves once GET / on `port` gets any HTTP answer. */
async function untilListening(child, port, what) {
  const until = Date.now() + 15000;
  while (Date.now() < until) {
    if (child.exitCode !== null) fail(`${what} exited (${child.exitCode}) before listening`);
    const ok = await new Promise((resolve) => {
      const req = http.get({ host: kHost, port, path: '/socket.io/?EIO=4&transport=polling', timeout: 500 }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  fail(`${what} did not listen on ${port} within 15 s`);
}

// ---------------------------------------------------------------- one run

async function runOnce(name, options) {
  const port = await freePort();
  let server = kServers[name](port);
  await untilListening(server, port, name);
  const per = Math.ceil(options.connections / options.workers);
  const workers = Array.from({ length: options.workers }, (_, i) => ({
    child: fork(fileURLToPath(import.meta.url), ['--worker']),
    count: Math.min(per, options.connections - i * per),
  })).filter((w) => w.count > 0);
  const next = (worker, key) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: a worker timed out waiting for "${key}"`)),
      options.timeout_s * 1000);
    worker.child.on('message', function onMessage(message) {
      if (!(key in message)) return;
      clearTimeout(timer);
      worker.child.off('message', onMessage);
      resolve(message);
    });
  });
  try {
    const connected = workers.map((w) => next(w, 'connected'));
    for (const w of workers) w.child.send({ connect: `http://${kHost}:${port}`, count: w.count });
    await Promise.all(connected);
    const back = workers.map((w) => next(w, 'back'));
    // The deploy: the old process gone at once, the new one on the same port.
    const killedAt = Date.now();
    server.kill('SIGKILL');
    await new Promise((resolve) => server.once('exit', resolve));
    server = kServers[name](port);
    const cpuBefore = sampleProcess(server.pid).cpu_s;
    const answers = await Promise.all(back);
    const cpu = sampleProcess(server.pid).cpu_s - cpuBefore;
    const times = answers.flatMap((a) => a.back).map((t) => t - killedAt).sort((a, b) => a - b);
    const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
    return {
      server: name, connections: options.connections, back: times.length, all_back_ms: times.at(-1),
      p50_ms: at(0.5), p99_ms: at(0.99), connect_errors: answers.reduce((n, a) => n + a.errors, 0),
      server_cpu_s: Number(cpu.toFixed(2)),
    };
  } finally {
    for (const w of workers) w.child.kill();
    server.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------- main

function parseArgs(argv) {
  const options = { connections: 19000, servers: 'roomcast,socketio', repeats: 3, workers: 2, timeout_s: 60, json: '' };
  for (const arg of argv) {
    const [, key, value] = /^--([a-z_]+)=(.*)$/.exec(arg) ?? [];
    if (!(key in options)) fail(`unknown argument ${arg}`);
    options[key] = typeof options[key] === 'number' ? Number(value) : value;
    if (typeof options[key] === 'number' && !(options[key] > 0)) fail(`--${key} must be a number > 0`);
  }
  options.servers = options.servers.split(',');
  for (const s of options.servers) if (!kServers[s]) fail(`unknown server ${s}`);
  return options;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const runs = [];
  for (let repeat = 0; repeat < options.repeats; repeat += 1) {
    for (const name of options.servers) {
      const run = await runOnce(name, options).catch((error) => fail(error.message));
      process.stderr.write(`restart_storm: ${JSON.stringify(run)}\n`);
      runs.push({ repeat, ...run });
    }
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const rows = ['| server | all back (ms) | p50 (ms) | p99 (ms) | connect errors | server CPU (s) |', '|---|---|---|---|---|---|'];
  for (const name of options.servers) {
    const mine = runs.filter((r) => r.server === name);
    const cell = (key) => `${median(mine.map((r) => r[key]))} (${mine.map((r) => r[key]).join(', ')})`;
    rows.push(`| ${name} | ${cell('all_back_ms')} | ${cell('p50_ms')} | ${cell('p99_ms')} | ${cell('connect_errors')} | ${cell('server_cpu_s')} |`);
  }
  process.stdout.write(`${options.connections} clients from ${kHost}, medians of ${options.repeats} (each run):\n${rows.join('\n')}\n`);
  if (options.json) fs.writeFileSync(options.json, `${JSON.stringify({ options, runs }, null, 2)}\n`);
}

if (process.argv.includes('--worker')) runWorker();
else main();
