// The README's examples work as written: every `curl` line of its ```sh blocks
// runs (real curl, through bash) against a roomcastd started with matching
// settings, with localhost:3001 replaced by the test server's port, and must
// exit 0 with a 2xx status; every `grpcurl` line is replayed grpcurl-style
// through reflection (grpcurl itself is not packaged here). The README must
// show curl examples for the control plane and grpcurl list/describe/Emit.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControl } from '../support/control.js';
import { stopServer } from '../support/fixtures.js';
import { HealthClient, Reflection, grpcTarget } from '../support/grpc.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const kKey = 'readme-test-key-0c1d';
const kCurlTimeoutMs = 10000;

/** Commands of the ```sh blocks (```bash and ```shell too), continuation lines joined. */
function shellCommands(markdown) {
  const commands = [];
  const fence = /^```(sh|bash|shell|console)\s*$([\s\S]*?)^```\s*$/gm;
  for (const block of markdown.matchAll(fence)) {
    const lines = block[2].split('\n');
    for (let i = 0; i < lines.length; i += 1) {
      let line = lines[i];
      while (/\\\s*$/.test(line) && i + 1 < lines.length) {
        line = line.replace(/\\\s*$/, ' ') + lines[++i].trim();
      }
      const command = line.trim().replace(/^\$\s+/, '');
      if (command) commands.push(command);
    }
  }
  return commands;
}

const commands = shellCommands(readme);
const curlLines = commands.filter((c) => c.startsWith('curl '));
const grpcurlLines = commands.filter((c) => c.startsWith('grpcurl '));

/** The API key a line needs: undefined (none), or the key value the server must have. */
function keyOf(line) {
  const literal = /(?:x-api-key:\s*|Bearer\s+)([^\s"'$\\]+)/i.exec(line);
  if (literal) return literal[1];
  if (/\$\{?[A-Z_]*(KEY|TOKEN)\b/.test(line) || /x-api-key|authorization:/i.test(line)) return kKey;
  return undefined;
}

/** Variables a line references that name a key or token: set to kKey in its environment. */
function keyEnv(line) {
  const env = {};
  for (const m of line.matchAll(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g)) {
    if (/KEY|TOKEN/.test(m[1])) env[m[1]] = kKey;
  }
  return env;
}

const withPort = (line, port, grpcPort) =>
  line
    .replace(/(localhost|127\.0\.0\.1|\[::1\]):3001\b/g, `$1:${port}`)
    .replace(/(localhost|127\.0\.0\.1|\[::1\]):50051\b/g, `$1:${grpcPort}`);

// Wraps curl so the line runs as written (quotes, comments, pipes) while each
// curl call reports its exit code and HTTP status on fd 3; the line's own
// -o/-w are dropped so they cannot hide the status.
const kCurlWrapper = `
curl() {
  local args=() skip=0 x
  for x in "$@"; do
    if [ "$skip" = 1 ]; then skip=0; continue; fi
    case "$x" in -o|--output|-w|--write-out) skip=1; continue;; esac
    args+=("$x")
  done
  local code rc
  code=$(command curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "\${args[@]}")
  rc=$?
  echo "curl rc=$rc http=$code" >&3
  return $rc
}
`;

/** Runs one README line through bash; resolves [{ rc, http }] per curl call, and the output. */
function runCurlLine(line, env) {
  return new Promise((resolve) => {
    const script = `${kCurlWrapper}\n${line}\n`;
    const child = execFile('bash', ['-c', `exec 3>&1; ${script}`], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME ?? '/tmp', ...env },
      timeout: kCurlTimeoutMs,
      killSignal: 'SIGKILL',
    }, (err, stdout, stderr) => {
      const calls = [...stdout.matchAll(/^curl rc=(\d+) http=(\d+)$/gm)].map((m) => ({ rc: Number(m[1]), http: Number(m[2]) }));
      resolve({ calls, stdout, stderr, error: err });
    });
    child.stdin?.end();
  });
}

/** Splits a shell command into words (quotes, backslashes, $VAR from env); stops at a comment or pipe. */
function shellWords(line, env = {}) {
  const words = [];
  let word = null;
  let i = 0;
  const expand = () => {
    const m = /^\$(\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/.exec(line.slice(i));
    if (!m) return '$';
    i += m[0].length - 1;
    return env[m[2] ?? m[3]] ?? process.env[m[2] ?? m[3]] ?? '';
  };
  for (; i < line.length; i += 1) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      word = word ?? '';
      for (i += 1; i < line.length && line[i] !== '"'; i += 1) {
        if (line[i] === '\\' && '"\\$`'.includes(line[i + 1])) word += line[++i];
        else if (line[i] === '$') word += expand();
        else word += line[i];
      }
      if (i >= line.length) throw new Error(`unterminated " in: ${line}`);
    } else if (c === '\\') {
      word = (word ?? '') + (line[i + 1] ?? '');
      i += 1;
    } else if (c === '$') {
      word = (word ?? '') + expand();
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else if ((c === '#' && word === null) || c === '|' || c === ';' || c === '&') {
      break;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

/** Parses a grpcurl command line: { headers, data, address, verb, symbol }. */
function parseGrpcurl(line, env) {
  const words = shellWords(line, env).slice(1);
  const headers = {};
  let data;
  const rest = [];
  for (let i = 0; i < words.length; i += 1) {
    const w = words[i].replace(/^--/, '-');
    const [flag, inline] = w.includes('=') && w.startsWith('-') ? [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] : [w, undefined];
    const value = () => inline ?? words[++i];
    if (['-plaintext', '-v', '-vv', '-insecure', '-format-error', '-emit-defaults', '-allow-unknown-fields', '-use-reflection'].includes(flag)) continue;
    if (flag === '-d') data = value();
    else if (['-H', '-rpc-header', '-reflect-header'].includes(flag)) {
      const h = value();
      const colon = h.indexOf(':');
      headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
    } else if (['-proto', '-import-path', '-protoset', '-max-time', '-connect-timeout', '-format', '-authority', '-servername'].includes(flag)) value();
    else if (flag.startsWith('-')) throw new Error(`grpcurl flag ${flag} is not supported by this replay: ${line}`);
    else rest.push(words[i]);
  }
  const [address, verb, symbol] = rest;
  return { headers, data, address, verb, symbol };
}

/** Replays one grpcurl line; throws on failure. */
async function replayGrpcurl(line, port, grpcPort, env) {
  const { headers, data, address, verb, symbol } = parseGrpcurl(withPort(line, port, grpcPort), env);
  assert.ok(address, `an address in: ${line}`);
  const target = address.replace(/^localhost:/, '127.0.0.1:');
  const reflection = new Reflection(target, { headers });
  try {
    if (verb === 'list') {
      const services = await reflection.listServices();
      if (symbol) assert.ok((await reflection.descriptorBySymbol(symbol)).getProtobufJsRoot().lookupService(symbol), symbol);
      else assert.ok(services.includes('roomcast.v1.Roomcast'), JSON.stringify(services));
      return;
    }
    if (verb === 'describe') {
      const descriptor = await reflection.descriptorBySymbol(symbol ?? 'roomcast.v1.Roomcast');
      assert.ok(descriptor.getProtobufJsRoot().lookup(symbol ?? 'roomcast.v1.Roomcast'), symbol);
      return;
    }
    const m = /^([\w.]+)[/.](\w+)$/.exec(verb ?? '');
    assert.ok(m, `a method (pkg.Service/Method) in: ${line}`);
    const [, service, method] = m;
    const request = data === undefined || data === '' ? {} : JSON.parse(data);
    if (service === 'grpc.health.v1.Health') {
      const health = new HealthClient(target, { headers });
      try {
        assert.equal(await health.check(request.service ?? ''), 'SERVING', line);
      } finally {
        health.close();
      }
      return;
    }
    const client = await reflection.service(service, { headers });
    try {
      await client.call(method, request);
    } finally {
      client.close();
    }
  } finally {
    reflection.close();
  }
}

// One server per API key setting the examples need (none, or a key).
const servers = new Map();
async function serverFor(key) {
  const id = key ?? '';
  if (!servers.has(id)) {
    servers.set(id, startControl([], { env: { INTERNAL_API_KEY: key ?? '' } }));
  }
  return servers.get(id);
}
after(async () => {
  for (const started of servers.values()) await stopServer(await started.catch(() => null));
});

describe('README examples', () => {
  it('has curl examples in ```sh blocks', () => {
    assert.ok(curlLines.length > 0, 'README.md has no `curl ` line in a ```sh block');
  });

  it('shows curl for the control plane: emit, status, the test event, health', () => {
    const shows = (re) => curlLines.some((l) => re.test(l));
    assert.ok(shows(/\/api\/socket\/emit\b/) || shows(/\/v1\/emit\b/), 'a curl emit example (POST /api/socket/emit or /v1/emit)');
    assert.ok(shows(/\/api\/socket\/status\b|\/v1\/status\b/), 'a curl status example');
    assert.ok(shows(/\/api\/health\b|\/v1\/health\b/), 'a curl /api/health example');
  });

  it('shows grpcurl list, describe and an Emit call', () => {
    assert.ok(grpcurlLines.some((l) => /\slist(\s|$)/.test(l)), 'a `grpcurl ... list` example');
    assert.ok(grpcurlLines.some((l) => /\sdescribe(\s|$)/.test(l)), 'a `grpcurl ... describe` example');
    assert.ok(grpcurlLines.some((l) => /roomcast\.v1\.Roomcast[/.]Emit\b/.test(l)), 'a `grpcurl ... roomcast.v1.Roomcast/Emit` example');
  });

  for (const line of curlLines) {
    it(`runs: ${line.length > 110 ? `${line.slice(0, 107)}...` : line}`, async () => {
      const key = keyOf(line);
      const server = await serverFor(key);
      const command = withPort(line, server.port, server.grpcPort);
      const run = await runCurlLine(command, keyEnv(line));
      const context = `\n$ ${command}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
      assert.ok(run.calls.length > 0, `curl ran${context}`);
      for (const call of run.calls) {
        assert.equal(call.rc, 0, `curl exit code${context}`);
        assert.ok(call.http >= 200 && call.http < 300, `HTTP ${call.http}, expected 2xx${context}`);
      }
    });
  }

  for (const line of grpcurlLines) {
    it(`replays: ${line.length > 110 ? `${line.slice(0, 107)}...` : line}`, async () => {
      const server = await serverFor(keyOf(line));
      await replayGrpcurl(line, server.port, server.grpcPort, keyEnv(line));
    });
  }
});
