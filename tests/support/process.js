// Starts a Roomcast binary (roomcastd or the conformance protocol_server) on an
// ephemeral loopback port and hands back its port and a way to stop it.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const buildDir = process.env.ROOMCAST_BUILD_DIR ?? path.join(root, 'build');
export const roomcastdPath = path.join(buildDir, 'server/roomcastd');
export const protocolServerPath = path.join(buildDir, 'tests/conformance/protocol_server');

const kListening = /listening .*\bport=(\d+)/;
// The gRPC port, when the server has one, is on the same listening line.
const kGrpcPort = /\bgrpc_port=(\d+)/;

/**
 * Spawns `binary args...` and resolves once it prints its listening line.
 * Returns { port, grpcPort, child, output(), stop(signal) -> Promise<{code, signal}> }
 * (grpcPort: the listening line's `grpc_port=`, undefined when it has none).
 */
export function startProcess(binary, args = [], { env = {}, timeoutMs = 10000 } = {}) {
  const child = spawn(binary, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    // A missing or unexecutable binary: report it as an exit, not a crash.
    child.on('error', (error) => {
      output += `spawn failed: ${error.message}\n`;
      resolve({ code: null, signal: null, error });
    });
  });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${binary} did not report listening within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk) => {
      output += chunk;
      const match = kListening.exec(output);
      // Wait for the end of the listening line, so its grpc_port= is in too.
      if (match && output.indexOf('\n', match.index) !== -1) {
        clearTimeout(timer);
        const line = output.slice(match.index, output.indexOf('\n', match.index));
        const grpc = kGrpcPort.exec(line);
        resolve({ port: Number(match[1]), grpcPort: grpc ? Number(grpc[1]) : undefined });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${binary} exited (code ${code}, signal ${signal}) before listening:\n${output}`));
    });
  });
  return ready.then(({ port, grpcPort }) => ({
    port,
    grpcPort,
    child,
    exited,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  }));
}

/** roomcastd on 127.0.0.1/::1 (dual-stack `::` by default) with an ephemeral port. */
export function startRoomcastd(flags = [], options = {}) {
  const hasPort = flags.some((f) => f.startsWith('--port'));
  // Ephemeral gRPC port too, unless the test picks one (flag or GRPC_PORT).
  const hasGrpcPort = flags.some((f) => f.startsWith('--grpc_port')) || options.env?.GRPC_PORT;
  const defaults = [...(hasPort ? [] : ['--port=0']), ...(hasGrpcPort ? [] : ['--grpc_port=0'])];
  return startProcess(roomcastdPath, [...defaults, ...flags], options);
}

/** The conformance profile server on an ephemeral port. */
export function startProtocolServer(flags = [], options = {}) {
  return startProcess(protocolServerPath, ['--port=0', ...flags], options);
}
