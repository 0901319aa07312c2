// The benchmark harness at a tiny load (`node bench/run.mjs --smoke`), so that
// it cannot rot: every server (roomcastd, the reference socket.io server, the
// ceiling) and every loadgen mode once (client events with bench/consumer
// too), the runner's parsing, tables and plots included. Its figures mean
// nothing. Skipped until the loadgen, the ceiling and the consumer are built.
// Also the restart-storm driver (bench/storm/restart_storm.mjs) at 200 clients.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDir } from '../support/process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const loadgenPath = process.env.ROOMCAST_LOADGEN ?? path.join(buildDir, 'bench/roomcast-loadgen');
const ceilingPath = process.env.ROOMCAST_CEILING ?? path.join(buildDir, 'bench/roomcast-ceiling');
const consumerPath = process.env.ROOMCAST_CONSUMER ?? path.join(buildDir, 'bench/roomcast-consumer');
const missing = [loadgenPath, ceilingPath, consumerPath].filter((p) => !fs.existsSync(p));
const kTimeoutMs = 100000;

/** Runs `node bench/run.mjs args...`; resolves { code, signal, output }. */
function runBench(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bench/run.mjs'), ...args], {
      cwd: root,
      env: { ...process.env, ROOMCAST_BUILD_DIR: buildDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    const timer = setTimeout(() => child.kill('SIGINT'), kTimeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}

describe('bench/run.mjs --smoke', { skip: missing.length > 0 && `not built: ${missing.join(', ')}` }, () => {
  it('runs every scenario it picks against every server and writes the report', { timeout: kTimeoutMs + 10000 }, async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'roomcast-bench-'));
    try {
      const { code, signal, output } = await runBench(['--smoke', `--out=${out}`]);
      assert.equal(code, 0, `run.mjs exited with ${code} ${signal}:\n${output}`);

      const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
      const servers = new Set(results.scenarios.flatMap((s) => s.servers));
      assert.deepEqual([...servers].sort(), ['ceiling', 'roomcast', 'socketio']);
      const modes = new Set(results.scenarios.map((s) => (s.flags.broadcast ? 'broadcast' : s.flags.emit)));
      assert.deepEqual([...modes].sort(), ['batch', 'broadcast', 'client', 'grpc', 'http', 'none']);
      assert.deepEqual(results.failures, []);
      for (const scenario of results.scenarios) {
        for (const server of scenario.servers) {
          const run = results.runs.find((r) => r.scenario === scenario.name && r.server === server);
          assert.ok(run, `no run of ${scenario.name} against ${server}`);
          assert.equal(run.raw.connected, scenario.flags.connections, `${scenario.name} ${server}: ${JSON.stringify(run.raw)}`);
          assert.ok(run.raw.server.rss_before_kb > 0, `${scenario.name} ${server}: no /proc figures`);
          if (scenario.kind === 'client-stream') {
            // No acks: the service's own count, every event sent.
            assert.ok(run.raw.receiver?.events > 0, `${scenario.name} ${server}: ${JSON.stringify(run.raw.receiver)}`);
            assert.equal(run.raw.receiver.events, run.raw.client_events.sent, `${scenario.name} ${server}: all received`);
          } else if (scenario.flags.emit !== 'none') {
            assert.ok(run.raw.delivered > 0, `${scenario.name} ${server}: nothing delivered`);
          }
          if (scenario.consumer && server === 'roomcast' && scenario.kind !== 'client-stream') {
            assert.equal(run.raw.consumer?.acked, run.raw.delivered, `${scenario.name}: consumer ${JSON.stringify(run.raw.consumer)}`);
          }
          assert.ok(fs.existsSync(path.join(out, 'raw', `${scenario.name}.${server}.1.json`)));
        }
      }
      const markdown = fs.readFileSync(path.join(out, 'results.md'), 'utf8');
      for (const scenario of results.scenarios) assert.match(markdown, new RegExp(`^## ${scenario.name}$`, 'm'));
      assert.match(markdown, /roomcast \/ socketio/);
      for (const name of ['cpu_per_delivery', 'latency_p99', 'rss_per_connection']) {
        assert.ok(fs.existsSync(path.join(out, 'plots', `${name}.dat`)), `${name}.dat`);
        assert.ok(fs.existsSync(path.join(out, 'plots', `${name}.gp`)), `${name}.gp`);
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('bench/storm/restart_storm.mjs at a tiny load', () => {
  it('every client of roomcastd and of socket.io is back after the restart, and the report is written', { timeout: 60000 }, async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'roomcast-restart-storm-'));
    try {
      const json = path.join(out, 'runs.json');
      const { code, output } = await new Promise((resolve) => {
        const child = spawn(process.execPath, [path.join(root, 'bench/storm/restart_storm.mjs'), '--connections=200',
          '--repeats=1', '--timeout_s=30', `--json=${json}`], { cwd: root, env: { ...process.env, ROOMCAST_BUILD_DIR: buildDir } });
        let text = '';
        child.stdout.on('data', (c) => (text += c));
        child.stderr.on('data', (c) => (text += c));
        child.on('close', (exitCode) => resolve({ code: exitCode, output: text }));
      });
      assert.equal(code, 0, output);
      const { runs } = JSON.parse(fs.readFileSync(json, 'utf8'));
      assert.deepEqual(runs.map((r) => r.server).sort(), ['roomcast', 'socketio']);
      for (const run of runs) {
        assert.equal(run.back, 200, JSON.stringify(run));
        assert.ok(run.all_back_ms > 0 && run.all_back_ms < 30000, JSON.stringify(run));
      }
      assert.match(output, /\| roomcast \| \d+/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
