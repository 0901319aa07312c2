// The README's Next.js webhook route handler, the exact code between its
// <!-- webhook-route:start --> and <!-- webhook-route:end --> markers:
// type-checked (strict) against dist/*.d.ts, transpiled with TypeScript,
// loaded as a module and served by node:http as Web Request/Response (as
// Next.js calls it). roomcastd posts a browser's event to it and the
// browser's ack gets the route's answer; a bad signature is 401; a replay
// (same id) is answered from memory, not handled again; a stale event is
// refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { connectSocket, kStepMs, startServer, waitUntil, withTimeout } from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const kSecret = 'webhook-secret-for-tests';

/** The route's TypeScript, as the README has it. */
function routeSource() {
  const readme = fs.readFileSync(path.join(here, '../README.md'), 'utf8');
  const match = /<!-- webhook-route:start -->\s*```ts\n([\s\S]*?)```\s*<!-- webhook-route:end -->/.exec(readme);
  assert.ok(match, 'README.md has the route between <!-- webhook-route:start --> and <!-- webhook-route:end --> in a ```ts block');
  return match[1];
}

/** Diagnostics of `source` compiled as a file of test/types (its tsconfig: strict, dist/*.d.ts through the package name). */
function typeErrors(source) {
  const configPath = path.join(here, 'types/tsconfig.json');
  const { config } = ts.readConfigFile(configPath, ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, path.dirname(configPath));
  const fileName = path.join(here, 'types/readme-webhook-route.ts'); // never written: served from memory
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, language, ...rest) =>
    name === fileName ? ts.createSourceFile(name, source, language) : getSourceFile.call(host, name, language, ...rest);
  host.fileExists = (name) => name === fileName || fileExists.call(host, name);
  host.readFile = (name) => (name === fileName ? source : readFile.call(host, name));
  const program = ts.createProgram([fileName], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => {
      const where = d.file ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : '';
      return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
    });
}

/** The route transpiled to an ES module in a temporary directory, imported. */
async function loadRoute(t, source) {
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: 'route.ts',
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roomcast-route-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'route.mjs');
  fs.writeFileSync(file, outputText);
  return import(pathToFileURL(file).href);
}

/**
 * node:http in front of the route's POST, as Next.js runs it: each request
 * as a Web Request, its Response written back. `requests` records what came
 * (headers, body, the route's status and answer).
 */
async function serveRoute(t, route) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) headers.set(name, String(value));
    const request = new Request(`http://127.0.0.1${req.url}`, { method: req.method, headers, body: req.method === 'POST' ? body : undefined });
    const record = { path: req.url, headers: req.headers, body: body.toString('utf8') };
    requests.push(record);
    try {
      const response = await route.POST(request);
      record.status = response.status;
      record.answer = await response.text();
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(record.answer);
    } catch (err) {
      record.status = 500;
      record.error = err;
      res.writeHead(500).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return { requests, url: `http://127.0.0.1:${server.address().port}/api/roomcast` };
}

const sign = (body, secret = kSecret) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/** POSTs `event` (an object, made a body) to the route as roomcastd would, signed unless `signature` is given. */
async function post(url, event, signature) {
  const body = JSON.stringify(event);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-roomcast-signature': signature ?? sign(body), 'x-roomcast-event-id': event.id },
    body,
    signal: AbortSignal.timeout(kStepMs),
  });
  return { status: response.status, json: await response.json() };
}

const chatEvent = (fields = {}) => ({
  id: `test.${randomUUID()}`,
  namespace: '/',
  event: 'chat:send',
  args: [{ text: 'hello' }],
  socketId: 'sock-1',
  userId: '',
  rooms: [],
  time: Date.now(),
  ...fields,
});

describe("the README's webhook route handler", () => {
  let source;
  const previousSecret = process.env.ROOMCAST_WEBHOOK_SECRET;
  before(() => {
    source = routeSource();
    // The route reads its secret at each request, as in a deployed app.
    process.env.ROOMCAST_WEBHOOK_SECRET = kSecret;
  });
  after(() => {
    if (previousSecret === undefined) delete process.env.ROOMCAST_WEBHOOK_SECRET;
    else process.env.ROOMCAST_WEBHOOK_SECRET = previousSecret;
  });

  it('type-checks as a strict TypeScript file against dist/*.d.ts', { timeout: 60000 }, () => {
    assert.deepEqual(typeErrors(source), []);
  });

  it("answers a browser's ack through roomcastd, which signs the event", async (t) => {
    const route = await loadRoute(t, source);
    const hook = await serveRoute(t, route);
    const server = await startServer(t, [`--client_events_webhook=${hook.url}`, `--webhook_secret=${kSecret}`]);
    const socket = await connectSocket(t, server.port, ['lobby']);

    const reply = await withTimeout(socket.timeout(kStepMs).emitWithAck('chat:send', { text: 'hi' }), kStepMs, 'the ack');
    assert.deepEqual(reply, { ok: true, stored: 'hi', by: socket.id });
    assert.equal(hook.requests.length, 1);
    const [request] = hook.requests;
    assert.equal(request.status, 200);
    assert.equal(request.path, '/api/roomcast');
    assert.equal(request.headers['x-roomcast-signature'], sign(request.body));
    const body = JSON.parse(request.body);
    assert.equal(request.headers['x-roomcast-event-id'], body.id);
    assert.deepEqual(
      { ...body, id: undefined, time: undefined },
      { id: undefined, namespace: '/', event: 'chat:send', args: [{ text: 'hi' }], socketId: socket.id, userId: '', rooms: ['lobby'], time: undefined },
    );
    assert.equal(typeof body.time, 'number');
    assert.deepEqual(JSON.parse(request.answer), { ack: [{ ok: true, stored: 'hi', by: socket.id }] });

    // An event without a handler: the route's own answer, not an error.
    const unknown = await withTimeout(socket.timeout(kStepMs).emitWithAck('no:handler', 1), kStepMs, 'the ack');
    assert.deepEqual(unknown, { ok: false, error: { code: 'unknown_event', message: 'no handler for no:handler' } });

    // A secret roomcastd and the app disagree on: 401, final, the browser hears unavailable.
    const other = await startServer(t, [`--client_events_webhook=${hook.url}`, '--webhook_secret=not-the-same']);
    const stranger = await connectSocket(t, other.port, []);
    const refused = await withTimeout(stranger.timeout(kStepMs).emitWithAck('chat:send', { text: 'x' }), kStepMs, 'the ack');
    assert.equal(refused.ok, false);
    assert.equal(refused.error.code, 'unavailable');
    await waitUntil(() => hook.requests.at(-1)?.status === 401, kStepMs, 'the refused request');
    assert.deepEqual(JSON.parse(hook.requests.at(-1).answer), { error: 'bad signature' });
  });

  it('refuses a bad or missing signature with 401, without running the handler', async (t) => {
    const route = await loadRoute(t, source);
    const hook = await serveRoute(t, route);
    const event = chatEvent({ args: [{ text: 'forged' }] });
    const body = JSON.stringify(event);
    for (const signature of [sign(body, 'wrong-secret'), sign(`${body} `), 'sha256=00', '', sign(body).toUpperCase()]) {
      const res = await post(hook.url, event, signature);
      assert.equal(res.status, 401, `signature ${JSON.stringify(signature)}`);
      assert.deepEqual(res.json, { error: 'bad signature' });
    }
    // The same event, signed: handled, so nothing about it was remembered before.
    const res = await post(hook.url, event);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { ack: [{ ok: true, stored: 'forged', by: 'sock-1' }] });
  });

  it('answers a replay (same id) from memory, not by handling it again', async (t) => {
    const route = await loadRoute(t, source);
    const hook = await serveRoute(t, route);
    const first = chatEvent({ args: [{ text: 'first' }], userId: 'u1' });
    const a = await post(hook.url, first);
    assert.deepEqual(a, { status: 200, json: { ack: [{ ok: true, stored: 'first', by: 'u1' }] } });
    // Same id, other arguments: the first answer again, so the handler did not run.
    const b = await post(hook.url, { ...first, args: [{ text: 'second' }] });
    assert.deepEqual(b, a);
    // Concurrent retries share one answer too.
    const twin = chatEvent({ args: [{ text: 'twin' }] });
    const answers = await Promise.all([post(hook.url, twin), post(hook.url, { ...twin, args: [{ text: 'other' }] })]);
    assert.deepEqual(answers[0], answers[1]);
    // Another id is handled.
    const c = await post(hook.url, chatEvent({ args: [{ text: 'third' }] }));
    assert.deepEqual(c.json, { ack: [{ ok: true, stored: 'third', by: 'sock-1' }] });
  });

  it('refuses a stale event (or one without a time) with 400', async (t) => {
    const route = await loadRoute(t, source);
    const hook = await serveRoute(t, route);
    for (const time of [Date.now() - 6 * 60 * 1000, Date.now() + 6 * 60 * 1000, undefined, 'yesterday']) {
      const res = await post(hook.url, chatEvent({ time }));
      assert.equal(res.status, 400, `time ${time}`);
      assert.deepEqual(res.json, { error: 'stale event' });
    }
    const fresh = await post(hook.url, chatEvent({ time: Date.now() - 60 * 1000 }));
    assert.equal(fresh.status, 200);
  });
});
