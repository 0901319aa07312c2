// Browser events to services: the ReceiveClientEvents server stream as an
// async iterator that reconnects with backoff (gRPC only: the stream has no
// HTTP route), and the decoding of ClientEvents and EmitWithAck answers into
// plain values.
import * as grpc from '@grpc/grpc-js';
import { RoomcastError, type RoomcastErrorCode } from './errors';
import type { GrpcTransport } from './grpc-transport';
import type { MethodSchema } from './schema';
import type { AckReply, EmitWithAckResponse, ReceivedClientEvent } from './types';

export interface ReceiveClientEventsOptions {
  /** Ends the iteration (quietly, as `break` does) and closes the stream. */
  signal?: AbortSignal;
  /**
   * A stream is in place (its initial metadata arrived): events sent from
   * now on are routed to it. Called again after every reconnect.
   */
  onReady?: () => void;
  /**
   * A stream ended, or could not be opened, and is opened again after
   * `retry.delayMs`. `error.code` says why: `RESOURCE_EXHAUSTED`, this
   * consumer was too slow and the server cut it (the events it had waiting
   * are lost); `UNAVAILABLE`, the node is draining or gone (or gRPC cannot
   * be reached).
   */
  onError?: (error: RoomcastError, retry: StreamRetry) => void;
  /** First reconnect delay (default: the client's initialBackoffMs); doubles up to maxBackoffMs, with jitter. */
  initialBackoffMs?: number;
  /** Longest reconnect delay (default 5000). */
  maxBackoffMs?: number;
}

export interface StreamRetry {
  /** Failures in a row, this one included (1 when a stream that was in place ended). */
  attempt: number;
  /** Time until the next attempt, in ms. */
  delayMs: number;
}

/**
 * Ends worth opening the stream again for: the node draining or gone, the
 * consumer cut for being slow, a proxy resetting the stream. Anything else
 * (UNAUTHENTICATED, INVALID_ARGUMENT, PERMISSION_DENIED, UNIMPLEMENTED, ...)
 * would fail again the same way: it ends the iteration.
 */
const kReconnect = new Set<RoomcastErrorCode>([
  'UNAVAILABLE',
  'RESOURCE_EXHAUSTED',
  'CANCELLED',
  'DEADLINE_EXCEEDED',
  'ABORTED',
  'INTERNAL',
  'UNKNOWN',
]);

const kDefaultMaxBackoffMs = 5000;

/** What a stream needs of its RoomcastClient. */
export interface StreamContext {
  grpc: GrpcTransport;
  method: MethodSchema;
  /** The request as proto-loader serializes it. */
  request: Record<string, unknown>;
  metadata: () => grpc.Metadata;
  connectTimeoutMs: number;
  initialBackoffMs: number;
  /** client.close(): ends the iteration as the caller's signal does. */
  closing: AbortSignal;
  decode: (message: Record<string, unknown>) => ReceivedClientEvent;
  log: (message: string) => void;
}

function positiveOr(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`receiveClientEvents: ${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

/** Checks the options before anything starts, so a bad one throws at the call. */
function backoffOf(options: ReceiveClientEventsOptions, initialDefault: number): { initial: number; max: number } {
  const initial = positiveOr('initialBackoffMs', options.initialBackoffMs, initialDefault);
  const max = positiveOr('maxBackoffMs', options.maxBackoffMs, Math.max(kDefaultMaxBackoffMs, initial));
  return { initial, max };
}

/** Resolves after `ms`, or early (false) when `signal` fires. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** An application callback must not break the stream. */
function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // ignored on purpose
  }
}

/**
 * The iterator receiveClientEvents returns. Unlike a bare async generator,
 * its return() also ends a next() that is waiting for an event (from
 * another task): it cancels the stream first.
 */
export function clientEventIterator(ctx: StreamContext, options: ReceiveClientEventsOptions): AsyncIterableIterator<ReceivedClientEvent> {
  const backoff = backoffOf(options, ctx.initialBackoffMs); // bad options throw now, not at the first next()
  const stop = new AbortController();
  const signals = [ctx.closing, options.signal].filter((s): s is AbortSignal => s !== undefined);
  const onStop = () => stop.abort();
  const cleanup = () => {
    for (const signal of signals) signal.removeEventListener('abort', onStop);
  };
  stop.signal.addEventListener('abort', cleanup, { once: true });
  for (const signal of signals) {
    if (signal.aborted) stop.abort();
    else signal.addEventListener('abort', onStop, { once: true });
  }
  const stream = streams(ctx, options, backoff, stop.signal, cleanup);
  return {
    next: () => stream.next(),
    return: (value?: unknown) => {
      stop.abort();
      return stream.return(value as undefined);
    },
    throw: (err?: unknown) => {
      stop.abort();
      return stream.throw(err);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/**
 * The events of successive ReceiveClientEvents streams: one stream at a
 * time, opened again after a retryable end.
 */
async function* streams(
  ctx: StreamContext,
  options: ReceiveClientEventsOptions,
  backoff: { initial: number; max: number },
  stop: AbortSignal,
  cleanup: () => void,
): AsyncGenerator<ReceivedClientEvent, void, undefined> {
  try {
    let failures = 0;
    const onReady = () => {
      failures = 0; // the stream was in place: the next end starts the backoff over
      if (options.onReady) safely(options.onReady);
    };
    for (;;) {
      // The channel this attempt uses: only its own failure may reset it (other streams share it).
      const epoch = ctx.grpc.epoch;
      const attempt = { ready: false };
      const error = yield* oneStream(ctx, stop, () => {
        attempt.ready = true;
        onReady();
      });
      if (!error || stop.aborted) return;
      if (!kReconnect.has(error.code)) throw error;
      // Node draining or gone: a fresh channel (a new connection may reach another node behind a
      // load balancer; loopback probed again), not grpc-js's own reconnect backoff.
      if (error.code === 'UNAVAILABLE' && ctx.grpc.epoch === epoch) ctx.grpc.reset();
      failures += 1;
      const ceiling = Math.min(backoff.max, backoff.initial * 2 ** (failures - 1));
      const delayMs = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      if (attempt.ready) {
        ctx.log(`roomcast: ReceiveClientEvents stream ended (${error.code}: ${error.message}); reconnecting in ${delayMs} ms`);
      }
      if (options.onError) safely(() => options.onError!(error, { attempt: failures, delayMs }));
      if (!(await pause(delayMs, stop))) return;
    }
  } finally {
    cleanup();
  }
}

/**
 * One stream: yields its events, then returns how it ended (null when
 * `stop` ended it). Events already received are yielded before the end.
 */
async function* oneStream(
  ctx: StreamContext,
  stop: AbortSignal,
  onReady: () => void,
): AsyncGenerator<ReceivedClientEvent, RoomcastError | null, undefined> {
  if (stop.aborted) return null;
  let error: RoomcastError;
  try {
    const state = await ctx.grpc.ready(Date.now() + ctx.connectTimeoutMs);
    if (state !== grpc.connectivityState.READY) {
      throw new RoomcastError('UNAVAILABLE', `gRPC ${ctx.grpc.target}: cannot connect`, { transport: 'grpc', notSent: true });
    }
    if (stop.aborted) return null;
    const call = ctx.grpc.stream({ definition: ctx.method.definition, request: ctx.request, metadata: ctx.metadata() });
    // grpc-js emits the final status as 'error' even after the iteration stopped listening.
    call.on('error', () => {});
    // The server registers the stream before it sends the initial metadata.
    call.once('metadata', onReady);
    const onStop = () => call.cancel();
    stop.addEventListener('abort', onStop, { once: true });
    try {
      // The Readable's iterator yields what is buffered before it throws the
      // final status, and pauses the HTTP/2 stream while nobody reads: a slow
      // consumer is flow-controlled, then cut by the server.
      for await (const message of call) yield ctx.decode(message as Record<string, unknown>);
      error = new RoomcastError('UNAVAILABLE', 'the server ended the stream', { transport: 'grpc' });
    } finally {
      stop.removeEventListener('abort', onStop);
      call.cancel(); // a no-op after the end; closes the call on break / return
    }
  } catch (err) {
    if (stop.aborted) return null;
    error =
      err instanceof RoomcastError
        ? err
        : typeof (err as grpc.ServiceError)?.code === 'number'
          ? ctx.grpc.streamError(err as grpc.ServiceError)
          : new RoomcastError('INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
  }
  return Object.assign(error, { method: 'ReceiveClientEvents' });
}

function parseJson(bytes: unknown, fallback: unknown): unknown {
  const buffer = Buffer.isBuffer(bytes) ? bytes : bytes instanceof Uint8Array ? Buffer.from(bytes) : null;
  if (!buffer || buffer.length === 0) return fallback;
  try {
    return JSON.parse(buffer.toString('utf8'));
  } catch {
    return fallback;
  }
}

const asBuffers = (value: unknown): Buffer[] =>
  Array.isArray(value)
    ? value.map((b) => (typeof b === 'string' ? Buffer.from(b, 'base64') : Buffer.from(b as Uint8Array)))
    : [];

const asStrings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);

/** A ClientEvent as proto-loader gives it, decoded; `ack` attached when the browser waits for one. */
export function decodeClientEvent(
  message: Record<string, unknown>,
  ack: (id: string, args: unknown[]) => Promise<unknown>,
): ReceivedClientEvent {
  const id = String(message.id ?? '');
  const args = parseJson(message.argsJson, []);
  const claims = parseJson(message.claimsJson, null);
  const timeMs = Number(message.timeMs ?? 0);
  const event: ReceivedClientEvent = {
    id,
    namespace: String(message.namespace || '/'),
    event: String(message.event ?? ''),
    args: Array.isArray(args) ? args : [args],
    attachments: asBuffers(message.attachments),
    socketId: String(message.socketId ?? ''),
    userId: String(message.userId ?? ''),
    claims: claims !== null && typeof claims === 'object' && !Array.isArray(claims) ? (claims as Record<string, unknown>) : null,
    rooms: asStrings(message.rooms),
    nodeId: String(message.nodeId ?? ''),
    wantsAck: message.wantsAck === true,
    time: new Date(timeMs),
    timeMs,
    kind: String(message.kind || 'event'),
    reason: String(message.reason ?? ''),
  };
  if (event.wantsAck) event.ack = async (...ackArgs: unknown[]) => void (await ack(id, ackArgs));
  return event;
}

/** EmitWithAck's answer alike from both transports: attachments as Buffers (the shim gives base64). */
export function decodeEmitWithAck(response: Record<string, unknown>): EmitWithAckResponse {
  const replies = Array.isArray(response.replies) ? (response.replies as Array<Record<string, unknown>>) : [];
  return {
    replies: replies.map(
      (r): AckReply => ({
        socketId: String(r.socketId ?? ''),
        args: Array.isArray(r.args) ? r.args : [],
        attachments: asBuffers(r.attachments),
      }),
    ),
    timedOut: asStrings(response.timedOut),
  };
}
