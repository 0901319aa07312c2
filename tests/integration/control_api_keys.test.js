// Several internal API keys: INTERNAL_API_KEY as a comma-separated list
// (named env-1, env-2, ...) and ROOMCAST_API_KEYS_FILE's `name:key` lines,
// re-read when the file changes (polled, as Kubernetes swaps a ..data
// symlink); a bad new file keeps the old keys and is counted. The key's name,
// never the key, shows in the control call log lines and in
// roomcast_control_calls_total{key=...}.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { api, parsePrometheus, pollUntil, sampleValue, startControl } from '../support/control.js';
import { runToExit } from '../support/fixtures.js';
import { Reflection, grpcError, grpcTarget } from '../support/grpc.js';

const kEnvKeys = ['env-key-one-1b2c', 'env-key-two-9d8e'];
const kBilling = 'billing-key-5f6a7b';
const kChat = 'chat-key-0c1d2e';
const kNewChat = 'chat-key-rotated-3f4a';

async function emitHttp(port, key) {
  return api(port, 'POST', '/v1/emit', { room: 'keys', event: 'e', data: 1 }, { headers: { authorization: `Bearer ${key}` } });
}

async function emitGrpc(rpc, key) {
  try {
    await rpc.call('Emit', { room: 'keys', event: 'e', data: 1 }, { headers: { 'x-api-key': key } });
    return 0;
  } catch (error) {
    return error.code;
  }
}

async function metrics(port) {
  return parsePrometheus((await api(port, 'GET', '/metrics')).body);
}

describe('INTERNAL_API_KEY list and ROOMCAST_API_KEYS_FILE', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roomcast-keys-'));
  const keysFile = path.join(dir, 'keys');
  let server;
  let rpc;
  let reflection;

  before(async () => {
    fs.writeFileSync(keysFile, `# services\nbilling:${kBilling}\n\nchat : ${kChat}\n`);
    server = await startControl(['--api_keys_reload_interval_s=1', '--log_level=debug'], {
      env: { INTERNAL_API_KEY: kEnvKeys.join(', '), ROOMCAST_API_KEYS_FILE: keysFile },
    });
    reflection = new Reflection(grpcTarget(server.grpcPort));
    rpc = await reflection.service('roomcast.v1.Roomcast');
  });

  after(async () => {
    rpc?.close();
    reflection?.close();
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every key works, over HTTP and gRPC; a wrong one does not', async () => {
    for (const key of [...kEnvKeys, kBilling, kChat]) {
      assert.equal((await emitHttp(server.port, key)).status, 200, key);
      assert.equal(await emitGrpc(rpc, key), 0, key);
    }
    assert.equal((await emitHttp(server.port, 'nope')).status, 401);
    assert.equal(await emitGrpc(rpc, 'nope'), 16);
  });

  it('logs and counts each call under the key name, never the key', async () => {
    await emitHttp(server.port, kBilling);
    await emitGrpc(rpc, kEnvKeys[1]);
    const m = await metrics(server.port);
    for (const name of ['env-1', 'env-2', 'billing', 'chat']) {
      assert.ok(sampleValue(m, 'roomcast_control_calls_total', { key: name, method: 'Emit' }) >= 1, name);
    }
    await pollUntil(() => /control: call method=Emit via=http key=billing code=OK/.test(server.output()), { what: 'http log line' });
    await pollUntil(() => /control: call method=Emit via=grpc key=env-2 code=OK/.test(server.output()), { what: 'grpc log line' });
    const text = server.output() + (await api(server.port, 'GET', '/metrics')).body;
    for (const key of [...kEnvKeys, kBilling, kChat]) {
      assert.ok(!text.includes(key), `the key ${key} never shows`);
    }
  });

  it('a key taken out of the file stops working, a new one starts, without a restart', async () => {
    // Replaced the way Kubernetes does: a new file renamed over the old.
    fs.writeFileSync(`${keysFile}.new`, `billing:${kBilling}\nchat:${kNewChat}\n`);
    fs.renameSync(`${keysFile}.new`, keysFile);
    const started = Date.now();
    await pollUntil(async () => (await emitHttp(server.port, kChat)).status === 401, { timeoutMs: 5000, what: 'old chat key refused' });
    assert.ok(Date.now() - started < 3500, `within the poll interval (took ${Date.now() - started} ms)`);
    assert.equal(await emitGrpc(rpc, kChat), 16);
    assert.equal((await emitHttp(server.port, kNewChat)).status, 200);
    assert.equal(await emitGrpc(rpc, kNewChat), 0);
    assert.equal((await emitHttp(server.port, kEnvKeys[0])).status, 200, 'INTERNAL_API_KEY keys stay');
    assert.match(server.output(), /auth: api keys reloaded file=\S+ keys=4 names=env-1,env-2,billing,chat/);
    assert.ok(sampleValue(await metrics(server.port), 'roomcast_api_keys_reloads_total', { result: 'ok' }) >= 1);
  });

  it('a bad new file keeps the old keys, logged and counted once', async () => {
    const before = sampleValue(await metrics(server.port), 'roomcast_api_keys_reloads_total', { result: 'failed' });
    fs.writeFileSync(`${keysFile}.new`, `billing:${kBilling}\nno colon here\n`);
    fs.renameSync(`${keysFile}.new`, keysFile);
    await pollUntil(() => /api keys file refused, the old keys stay file=\S+ error="line 2: expected name:key"/.test(server.output()), {
      timeoutMs: 5000,
      what: 'refusal logged',
    });
    await new Promise((resolve) => setTimeout(resolve, 1500)); // Another poll: not counted again.
    assert.equal(sampleValue(await metrics(server.port), 'roomcast_api_keys_reloads_total', { result: 'failed' }), before + 1);
    assert.equal((await emitHttp(server.port, kNewChat)).status, 200, 'the old keys stay');
    assert.equal(await emitGrpc(rpc, kNewChat), 0);
  });
});

describe('a bad keys file at startup', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roomcast-keys-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const [what, text, error] of [
    ['a line without a colon', 'a:1\n# c\nbroken\n', /line 3: expected name:key/],
    ['a repeated name', 'a:1\na:2\n', /line 2: the name "a" repeats/],
    ['a bad name', 'a b:1\n', /line 1: the name must be/],
    ['an empty key', 'a:\n', /line 1: the key is empty/],
    ['no key at all', '# only a comment\n\n', /the file names no key/],
  ]) {
    it(`${what} stops it with the line number`, async () => {
      const file = path.join(dir, 'keys');
      fs.writeFileSync(file, text);
      const { code, stdout, stderr } = await runToExit(['--port=0', '--grpc_port=0', `--api_keys_file=${file}`]);
      const output = stdout + stderr;
      assert.notEqual(code, 0, output);
      assert.match(output, /api_keys_file/);
      assert.match(output, error);
    });
  }

  it('a file key equal to an INTERNAL_API_KEY key is refused', async () => {
    const file = path.join(dir, 'keys');
    fs.writeFileSync(file, 'svc:same-key\n');
    const { code, stdout, stderr } = await runToExit(['--port=0', '--grpc_port=0', `--api_keys_file=${file}`], {
      env: { INTERNAL_API_KEY: 'same-key' },
    });
    const output = stdout + stderr;
    assert.notEqual(code, 0, output);
    assert.match(output, /repeats an earlier key/);
  });
});
