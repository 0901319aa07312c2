import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { RoomcastError, type RoomcastErrorCode, type Transport } from './errors';
import {
  clientEventIterator,
  decodeClientEvent,
  decodeEmitWithAck,
  type ReceiveClientEventsOptions,
} from './client-events';
import { isLocalhostName } from './address';
import { GrpcTransport, parseGrpcTarget } from './grpc-transport';
import { HttpTransport } from './http-transport';
import { Schema, type MethodSchema } from './schema';
import { loadTls, usesTls, type TlsFiles } from './tls';
import type {
  AckClientEventRequest,
  AckClientEventResponse,
  ChangeRoomsRequest,
  ChangeRoomsResponse,
  DisconnectSocketsRequest,
  DisconnectSocketsResponse,
  EmitBatchRequest,
  EmitBatchResponse,
  EmitRequest,
  EmitResponse,
  EmitWithAckRequest,
  EmitWithAckResponse,
  HealthResponse,
  HistoryRequest,
  HistoryResponse,
  ListRoomSocketsRequest,
  ListRoomSocketsResponse,
  ReceiveClientEventsRequest,
  ReceivedClientEvent,
  SendTestEventRequest,
  SendTestEventResponse,
  StatusRequest,
  StatusResponse,
} from './types';

/** Where warnings go: an object with `warn` (console, pino, ...) or a function. */
export type Logger = { warn(message: string): void } | ((message: string) => void);

/**
 * `'auto'` (default): gRPC, and the HTTP shim while gRPC is unreachable.
 * `'grpc'` or `'http'`: that transport only.
 */
export type TransportMode = 'auto' | 'grpc' | 'http';

export interface RoomcastClientOptions {
  /** gRPC target; default `ROOMCAST_GRPC_TARGET`, else `localhost:50051`. */
  grpcTarget?: string;
  /** The HTTP shim's base URL; default `INTERNAL_API_URL`, else `http://localhost:3001`. */
  httpUrl?: string;
  /** Sent as `authorization: Bearer <key>`; default `INTERNAL_API_KEY`. */
  apiKey?: string;
  transport?: TransportMode;
  /** Time a call may take, retries included (default 5000). */
  deadlineMs?: number;
  /** Attempts per call at most, the first included (default 8: with the default backoff, retrying until about the 5 s deadline). */
  maxAttempts?: number;
  /** First retry delay; doubles each retry up to maxBackoffMs, with jitter (default 100). */
  initialBackoffMs?: number;
  /** Longest retry delay (default 1000). */
  maxBackoffMs?: number;
  /** Time a gRPC connection may take before a call falls back to HTTP (default 1000). */
  connectTimeoutMs?: number;
  /** While gRPC is unreachable, how often to check (in the background) whether it is back (default 1000). */
  recheckIntervalMs?: number;
  /**
   * Codes retried (with the same idempotency key) when the method is safe to
   * repeat. Default UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED. A request that
   * certainly never left (connection refused) is always retried.
   */
  retryableCodes?: RoomcastErrorCode[];
  /** Transport changes are reported here; default console.warn; null for silence. */
  logger?: Logger | null;
  /** Directory with roomcast/v1/*.proto and google/api/*.proto; default the package's protos/. */
  protoDir?: string;
  /** Environment to read the variables from; default process.env. */
  env?: Record<string, string | undefined>;
  /** CA bundle (PEM) for the server's certificate; default `ROOMCAST_CA_FILE`, else the system's roots. */
  caFile?: string;
  /** Client certificate (PEM) presented to gRPC (mTLS); default `ROOMCAST_CLIENT_CERT_FILE`. */
  clientCertFile?: string;
  /** Its key (PEM); default `ROOMCAST_CLIENT_KEY_FILE`. */
  clientKeyFile?: string;
  /**
   * Default: TLS from the files above when any is set or httpUrl is https:
   * (both transports then use TLS, and an http: httpUrl is refused); else
   * plaintext, as roomcastd serves gRPC without TLS.
   */
  grpcCredentials?: grpc.ChannelCredentials;
  grpcChannelOptions?: grpc.ChannelOptions;
}

export interface CallOptions {
  /** Overrides the client's deadlineMs for this call. */
  deadlineMs?: number;
  /** Overrides the client's maxAttempts for this call. */
  maxAttempts?: number;
  /** Cancels the call (RoomcastError CANCELLED). */
  signal?: AbortSignal;
}

export interface ClientStats {
  /** Calls made. */
  calls: number;
  /** Calls that ended in an error. */
  failures: number;
  /** Attempts after the first, over all calls. */
  retries: number;
  /** Attempts answered over gRPC. */
  grpcCalls: number;
  /** Attempts answered over the HTTP shim. */
  httpCalls: number;
  /** Calls sent to the HTTP shim because gRPC was unreachable. */
  fallbacks: number;
  /** The transport of the last attempt. */
  lastTransport: Transport | null;
  /** Whether gRPC was reachable at the last try; null before any. */
  grpcAvailable: boolean | null;
  /** Where gRPC calls go (`ipv6:[::1]:50051` for `localhost:50051`), null while not connected. */
  grpcAddress: string | null;
  /** Where HTTP calls go (`http://127.0.0.1:3001` for `http://localhost:3001`), null while unknown. */
  httpAddress: string | null;
}

interface Config {
  grpcTarget: string;
  httpUrl: string;
  apiKey?: string;
  transport: TransportMode;
  deadlineMs: number;
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  connectTimeoutMs: number;
  recheckIntervalMs: number;
}

/** The RPCs and whether repeating one is harmless (emits: thanks to their idempotency key). */
const kIdempotent: Record<string, boolean> = {
  Emit: true,
  EmitBatch: true,
  Status: true,
  SendTestEvent: false, // has no idempotency key: repeated only when it surely never arrived
  Health: true,
  JoinRooms: true,
  LeaveRooms: true,
  DisconnectSockets: true,
  ListRoomSockets: true,
  History: true,
  // The first ack wins: a repeat after a lost answer would fail FAILED_PRECONDITION.
  AckClientEvent: false,
  // No idempotency key: a repeat asks the browsers again.
  EmitWithAck: false,
};

/** EmitWithAck's server-side wait when timeoutMs is 0 or absent, and its most. */
const kDefaultAckTimeoutMs = 5000;
const kMaxAckTimeoutMs = 300000;

/**
 * The JSON text of a request's JSON value field (an emit's `data`, an ack's
 * `args`), computed once when the call is prepared; gRPC sends it as the
 * bytes field beside (`dataJson`, `argsJson`), the shim gets the value.
 */
const kJsonText = Symbol('jsonText');

/** The JSON value fields sent as JSON text over gRPC, and their bytes field. */
const kJsonFields: Record<string, [string, string]> = {
  Emit: ['data', 'dataJson'],
  EmitWithAck: ['data', 'dataJson'],
  AckClientEvent: ['args', 'argsJson'],
};

const kDefaultRetryable: RoomcastErrorCode[] = ['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'ABORTED'];

function packageVersion(): string {
  try {
    const json = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../package.json'), 'utf8')) as { version?: string };
    return json.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

const kUserAgent = `roomcast-node/${packageVersion()}`;

const nonEmpty = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`RoomcastClient: ${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new RoomcastError('CANCELLED', 'the call was cancelled'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (signal) {
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}

function asRoomcastError(err: unknown, method: string): RoomcastError {
  if (err instanceof RoomcastError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new RoomcastError('INTERNAL', message, { method, cause: err });
}

/**
 * Roomcast's control plane from Node.js: gRPC first, the HTTP shim while gRPC
 * is unreachable, retries with the same idempotency key. Make one per process
 * and reuse it: it holds one gRPC channel.
 */
export class RoomcastClient {
  private readonly config: Config;
  private readonly schema: Schema;
  private readonly grpc: GrpcTransport;
  private readonly http: HttpTransport;
  private readonly logger: Logger | null;
  private readonly retryable: Set<RoomcastErrorCode>;
  private readonly counters = { calls: 0, failures: 0, retries: 0, grpcCalls: 0, httpCalls: 0, fallbacks: 0 };
  private lastTransport: Transport | null = null;
  /** null: not tried yet; false: unreachable at the last try (calls go to the shim). */
  private grpcAvailable: boolean | null = null;
  private grpcDownReason = '';
  /** A background check found gRPC reachable again: the next call tries it. */
  private grpcCandidate = false;
  private lastCheck = 0;
  private checking: Promise<void> | null = null;
  private closed = false;
  /** Stops the open receiveClientEvents iterations on close(). */
  private readonly streams = new AbortController();

  constructor(options: RoomcastClientOptions = {}) {
    const env = options.env ?? process.env;
    const tlsFiles: TlsFiles = {
      caFile: nonEmpty(options.caFile) ?? nonEmpty(env.ROOMCAST_CA_FILE),
      clientCertFile: nonEmpty(options.clientCertFile) ?? nonEmpty(env.ROOMCAST_CLIENT_CERT_FILE),
      clientKeyFile: nonEmpty(options.clientKeyFile) ?? nonEmpty(env.ROOMCAST_CLIENT_KEY_FILE),
    };
    const defaultHttpUrl = usesTls(tlsFiles, undefined) ? 'https://localhost:3001' : 'http://localhost:3001';
    this.config = {
      grpcTarget: nonEmpty(options.grpcTarget) ?? nonEmpty(env.ROOMCAST_GRPC_TARGET) ?? 'localhost:50051',
      httpUrl: nonEmpty(options.httpUrl) ?? nonEmpty(env.INTERNAL_API_URL) ?? defaultHttpUrl,
      apiKey: options.apiKey ?? nonEmpty(env.INTERNAL_API_KEY),
      transport: options.transport ?? 'auto',
      deadlineMs: positive('deadlineMs', options.deadlineMs, 5000),
      maxAttempts: Math.floor(positive('maxAttempts', options.maxAttempts, 8)),
      initialBackoffMs: positive('initialBackoffMs', options.initialBackoffMs, 100),
      maxBackoffMs: positive('maxBackoffMs', options.maxBackoffMs, 1000),
      connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, 1000),
      recheckIntervalMs: positive('recheckIntervalMs', options.recheckIntervalMs, 1000),
    };
    if (!['auto', 'grpc', 'http'].includes(this.config.transport)) {
      throw new TypeError(`RoomcastClient: transport must be 'auto', 'grpc' or 'http', got ${String(this.config.transport)}`);
    }
    this.logger = options.logger === undefined ? console : options.logger;
    this.retryable = new Set(options.retryableCodes ?? kDefaultRetryable);
    this.schema = Schema.load(options.protoDir);
    const tls = loadTls(tlsFiles, this.config.httpUrl);
    const host = parseGrpcTarget(this.config.grpcTarget)?.host;
    this.grpc = new GrpcTransport(this.config.grpcTarget, {
      credentials: options.grpcCredentials ??
        (tls ? grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null) : grpc.credentials.createInsecure()),
      channelOptions: {
        'grpc.primary_user_agent': kUserAgent,
        // This client retries itself, with idempotency keys.
        'grpc.enable_retries': 0,
        // A `localhost` target is dialled as ::1 or 127.0.0.1: the certificate still names localhost.
        ...(tls && host && isLocalhostName(host) ? { 'grpc.ssl_target_name_override': host } : {}),
        ...options.grpcChannelOptions,
      },
    });
    this.http = new HttpTransport(this.config.httpUrl, this.config.connectTimeoutMs, kUserAgent, tls);
  }

  /** The gRPC target in use (as configured). */
  get grpcTarget(): string {
    return this.config.grpcTarget;
  }

  /** The HTTP shim's base URL (as configured). */
  get httpUrl(): string {
    return this.config.httpUrl;
  }

  /** A snapshot of what the client did so far. */
  get stats(): ClientStats {
    return {
      ...this.counters,
      lastTransport: this.lastTransport,
      grpcAvailable: this.grpcAvailable,
      grpcAddress: this.grpc.current,
      httpAddress: this.http.current,
    };
  }

  /**
   * Sends `event` with `data` to the sockets in `room`/`rooms` (all of the
   * namespace when neither is given), except those in `exceptRooms`.
   */
  emit(request: EmitRequest, options?: CallOptions): Promise<EmitResponse> {
    return this.invoke('Emit', () => this.prepareEmit(request, ''), options);
  }

  /** Several emits in order in one call; each item has its own result or error. */
  emitBatch(request: EmitBatchRequest | EmitRequest[], options?: CallOptions): Promise<EmitBatchResponse> {
    return this.invoke(
      'EmitBatch',
      () => {
        const emits = Array.isArray(request) ? request : request?.emits;
        if (!Array.isArray(emits)) throw new RoomcastError('INVALID_ARGUMENT', "field 'emits': expected an array");
        const extra = Array.isArray(request) ? {} : { ...request, emits: undefined };
        const base = this.schema.normalize('roomcast.v1.EmitBatchRequest', extra);
        return { ...base, emits: emits.map((e, i) => this.prepareEmit(e, `emits[${i}]`)) };
      },
      options,
    );
  }

  /** Connections, rooms, counters and latency of the node. */
  status(request: StatusRequest = {}, options?: CallOptions): Promise<StatusResponse> {
    return this.invoke('Status', () => this.schema.normalize('roomcast.v1.StatusRequest', request), options);
  }

  /** The existing deployment's connectivity check: sends testEvent to testRoom. Not retried once it may have arrived. */
  sendTestEvent(request: SendTestEventRequest, options?: CallOptions): Promise<SendTestEventResponse> {
    return this.invoke('SendTestEvent', () => this.schema.normalize('roomcast.v1.SendTestEventRequest', request), options);
  }

  /** SERVING / DEGRADED / NOT_SERVING with each check (a NOT_SERVING answer is a result, not an error). */
  health(options?: CallOptions): Promise<HealthResponse> {
    return this.invoke('Health', () => ({}), options, [503]);
  }

  /** Selected sockets (by socketId, room or userId) join `rooms`. */
  joinRooms(request: ChangeRoomsRequest, options?: CallOptions): Promise<ChangeRoomsResponse> {
    return this.invoke('JoinRooms', () => this.schema.normalize('roomcast.v1.ChangeRoomsRequest', request), options);
  }

  /** Selected sockets leave `rooms`. */
  leaveRooms(request: ChangeRoomsRequest, options?: CallOptions): Promise<ChangeRoomsResponse> {
    return this.invoke('LeaveRooms', () => this.schema.normalize('roomcast.v1.ChangeRoomsRequest', request), options);
  }

  /** Disconnects selected sockets (closeConnection: their whole connection). */
  disconnectSockets(request: DisconnectSocketsRequest, options?: CallOptions): Promise<DisconnectSocketsResponse> {
    return this.invoke('DisconnectSockets', () => this.schema.normalize('roomcast.v1.DisconnectSocketsRequest', request), options);
  }

  /** The sockets in a room, with their rooms. */
  listRoomSockets(request: ListRoomSocketsRequest, options?: CallOptions): Promise<ListRoomSocketsResponse> {
    return this.invoke('ListRoomSockets', () => this.schema.normalize('roomcast.v1.ListRoomSocketsRequest', request), options);
  }

  /** Events the namespace's log still holds after afterOffset (in a room, when given): oldest first, newest first with reverse. */
  history(request: HistoryRequest = {}, options?: CallOptions): Promise<HistoryResponse> {
    return this.invoke('History', () => this.schema.normalize('roomcast.v1.HistoryRequest', request), options);
  }

  /**
   * The events browsers send (with `lifecycle`, their presence too), as an
   * async iterator over gRPC: a `for await` loop that lasts until `break`,
   * `options.signal` or `close()`. A stream that ends with UNAVAILABLE (node
   * draining or gone) or RESOURCE_EXHAUSTED (this consumer too slow) is
   * opened again with backoff and reported to `options.onError`; other
   * errors (UNAUTHENTICATED, INVALID_ARGUMENT, ...) end the loop by
   * throwing. Always gRPC, also while unary calls use the HTTP shim (the
   * stream has no HTTP route); with `transport: 'http'` it throws
   * FAILED_PRECONDITION. An event with `wantsAck` carries `ack(...args)`.
   */
  receiveClientEvents(
    request: ReceiveClientEventsRequest = {},
    options: ReceiveClientEventsOptions = {},
  ): AsyncIterableIterator<ReceivedClientEvent> {
    const rpc = 'ReceiveClientEvents';
    if (this.closed) throw new RoomcastError('FAILED_PRECONDITION', 'the RoomcastClient is closed', { method: rpc });
    if (this.config.transport === 'http') {
      throw new RoomcastError('FAILED_PRECONDITION', "receiveClientEvents needs gRPC (the client has transport: 'http')", { method: rpc });
    }
    const method = this.schema.method(rpc);
    let normalized: Record<string, unknown>;
    try {
      normalized = this.schema.normalize(method.requestType, request);
    } catch (err) {
      throw Object.assign(asRoomcastError(err, rpc), { method: rpc });
    }
    return clientEventIterator(
      {
        grpc: this.grpc,
        method,
        request: this.schema.toGrpc(method.requestType, normalized),
        metadata: () => this.grpcMetadata(),
        connectTimeoutMs: this.config.connectTimeoutMs,
        initialBackoffMs: this.config.initialBackoffMs,
        closing: this.streams.signal,
        decode: (message) => decodeClientEvent(message, (id, args) => this.ackClientEvent({ id, args })),
        log: (message) => this.log(message),
      },
      options,
    );
  }

  /** Completes a browser's ack callback with `args`: the first ack of an event wins (a second: FAILED_PRECONDITION; an unknown or expired id: NOT_FOUND). */
  ackClientEvent(request: AckClientEventRequest, options?: CallOptions): Promise<AckClientEventResponse> {
    return this.invoke(
      'AckClientEvent',
      () => {
        const ack = this.schema.normalize('roomcast.v1.AckClientEventRequest', request);
        if ('args' in ack && !Array.isArray(ack.args)) {
          throw new RoomcastError('INVALID_ARGUMENT', "field 'args': expected an array");
        }
        return RoomcastClient.withJsonText(ack, 'args', 'argsJson', '');
      },
      options,
    );
  }

  /** `ackClientEvent({ id, args })`: answers the browser's ack callback of event `id` with `args`. */
  ack(id: string, ...args: unknown[]): Promise<AckClientEventResponse> {
    return this.ackClientEvent({ id, args });
  }

  /**
   * Emits to one socket, a room or a user's sockets and waits up to
   * `timeoutMs` (default 5000) for each socket's ack: `replies` and
   * `timedOut`. The call's deadline is `timeoutMs` plus the client's
   * deadlineMs, unless `options.deadlineMs` sets it. Not repeated once it
   * may have arrived (a repeat would ask the browsers again).
   */
  async emitWithAck(request: EmitWithAckRequest, options: CallOptions = {}): Promise<EmitWithAckResponse> {
    const asked = Number(request?.timeoutMs);
    const wait = Number.isFinite(asked) && asked > 0 ? Math.min(asked, kMaxAckTimeoutMs) : kDefaultAckTimeoutMs;
    const response = await this.invoke<Record<string, unknown>>(
      'EmitWithAck',
      () => RoomcastClient.withJsonText(this.schema.normalize('roomcast.v1.EmitWithAckRequest', request), 'data', 'dataJson', ''),
      { ...options, deadlineMs: options.deadlineMs ?? wait + this.config.deadlineMs },
    );
    return decodeEmitWithAck(response);
  }

  /** Closes the gRPC channel and ends the receiveClientEvents iterations; later calls fail with FAILED_PRECONDITION. */
  async close(): Promise<void> {
    this.closed = true;
    this.streams.abort();
    this.grpc.close();
    this.http.close();
    await this.checking;
  }

  // ---- internals ----------------------------------------------------------

  private prepareEmit(request: EmitRequest, at: string): Record<string, unknown> {
    const emit = RoomcastClient.withJsonText(this.schema.normalize('roomcast.v1.EmitRequest', request, at), 'data', 'dataJson', at);
    if (!emit.idempotencyKey) emit.idempotencyKey = randomUUID();
    return emit;
  }

  /**
   * Serializes `request[field]` once, here (a value JSON cannot hold fails
   * before anything is sent), and keeps the text for gRPC's `textField`.
   */
  private static withJsonText(request: Record<string, unknown>, field: string, textField: string, at: string): Record<string, unknown> {
    if (field in request && textField in request) {
      throw new RoomcastError('INVALID_ARGUMENT', `${at ? `${at}: ` : ''}give ${field} or ${textField}, not both`);
    }
    if (field in request) {
      let json: string | undefined;
      try {
        json = JSON.stringify(request[field]);
      } catch (err) {
        throw new RoomcastError('INVALID_ARGUMENT', `field '${at ? `${at}.` : ''}${field}': ${(err as Error).message}`);
      }
      if (json === undefined) delete request[field];
      else Object.defineProperty(request, kJsonText, { value: json, enumerable: false });
    }
    return request;
  }

  /** A request for gRPC: the JSON value goes as its JSON text in the bytes field, which the server takes as is. */
  private static grpcJsonText(request: Record<string, unknown>, field: string, textField: string): Record<string, unknown> {
    const json = (request as { [kJsonText]?: string })[kJsonText];
    if (json === undefined) return request;
    const { [field]: _value, ...rest } = request;
    return { ...rest, [textField]: json };
  }

  private grpcMetadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (this.config.apiKey) metadata.set('authorization', `Bearer ${this.config.apiKey}`);
    return metadata;
  }

  private log(message: string): void {
    if (!this.logger) return;
    try {
      if (typeof this.logger === 'function') this.logger(message);
      else this.logger.warn(message);
    } catch {
      // A broken logger must not break calls.
    }
  }

  private setGrpcAvailable(available: boolean, reason = ''): void {
    const before = this.grpcAvailable;
    this.grpcAvailable = available;
    this.grpcCandidate = false;
    if (!available) {
      this.grpcDownReason = reason;
      this.lastCheck = Date.now();
    }
    if (before === available) return;
    if (!available) {
      this.log(
        `roomcast: gRPC ${this.config.grpcTarget} unreachable (${reason}); ` +
          `calls go to the HTTP shim at ${this.config.httpUrl} until it is back`,
      );
    } else if (before === false) {
      this.log(`roomcast: gRPC ${this.config.grpcTarget} reachable again (${this.grpc.current}); calls go over gRPC again`);
    }
  }

  /** While gRPC is down: at most every recheckIntervalMs, connect in the background; READY makes the next call try gRPC. */
  private kickRecheck(): void {
    if (this.checking || this.closed || Date.now() - this.lastCheck < this.config.recheckIntervalMs) return;
    this.lastCheck = Date.now();
    const checking = (async () => {
      const state = this.grpc.state();
      if (state === grpc.connectivityState.TRANSIENT_FAILURE || state === grpc.connectivityState.SHUTDOWN) this.grpc.reset();
      const ready = await this.grpc.ready(Date.now() + this.config.connectTimeoutMs);
      if (ready === grpc.connectivityState.READY) this.grpcCandidate = true;
      else this.grpc.reset();
    })()
      .catch(() => {})
      .finally(() => {
        if (this.checking === checking) this.checking = null;
      });
    this.checking = checking;
  }

  private backoff(retry: number): number {
    const ceiling = Math.min(this.config.maxBackoffMs, this.config.initialBackoffMs * 2 ** (retry - 1));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  private shouldRetry(err: RoomcastError, idempotent: boolean): boolean {
    if (err.code === 'CANCELLED') return false;
    if (err.notSent) return true;
    return idempotent && this.retryable.has(err.code);
  }

  private async invoke<T>(
    rpc: string,
    prepare: () => Record<string, unknown>,
    options: CallOptions = {},
    bodyOnStatus?: number[],
  ): Promise<T> {
    this.counters.calls += 1;
    const started = Date.now();
    const deadline = started + positive('deadlineMs', options.deadlineMs, this.config.deadlineMs);
    const maxAttempts = Math.floor(positive('maxAttempts', options.maxAttempts, this.config.maxAttempts));
    const method = this.schema.method(rpc);
    const call: PreparedCall = { method, idempotent: kIdempotent[rpc] ?? false, deadline, signal: options.signal, bodyOnStatus, fellBack: false };
    try {
      if (this.closed) throw new RoomcastError('FAILED_PRECONDITION', 'the RoomcastClient is closed');
      // Prepared once: an emit's idempotency key is the same on every attempt and transport.
      call.request = prepare();
    } catch (err) {
      this.counters.failures += 1;
      const error = asRoomcastError(err, rpc);
      throw error.method ? error : Object.assign(error, { method: rpc });
    }
    // The server never answered: the reason, not the deadline that cut the last retry short.
    let unreachable: RoomcastError | undefined;
    for (let attempt = 1; ; attempt += 1) {
      try {
        if (options.signal?.aborted) throw new RoomcastError('CANCELLED', 'the call was cancelled');
        return (await this.attempt(call)) as T;
      } catch (err) {
        let error = asRoomcastError(err, rpc);
        if (error.code === 'UNAVAILABLE' && error.noAnswer) unreachable = error;
        else if (error.code === 'DEADLINE_EXCEEDED' && error.noAnswer && unreachable) error = unreachable;
        if (!error.method) Object.assign(error, { method: rpc });
        const delay = this.backoff(attempt);
        const retry =
          this.shouldRetry(error, call.idempotent) && attempt < maxAttempts && !options.signal?.aborted && Date.now() + delay < deadline;
        if (!retry) {
          this.counters.failures += 1;
          error.attempts = attempt;
          if (attempt > 1 || error.code === 'DEADLINE_EXCEEDED') {
            error.message += ` (${rpc}: ${attempt} attempt${attempt > 1 ? 's' : ''} in ${Date.now() - started} ms, deadline ${deadline - started} ms)`;
          }
          throw error;
        }
        this.counters.retries += 1;
        await sleep(delay, options.signal);
      }
    }
  }

  private async attempt(call: PreparedCall): Promise<unknown> {
    const mode = this.config.transport;
    if (mode === 'http') return this.viaHttp(call);
    if (mode === 'grpc') {
      try {
        return await this.viaGrpc(call);
      } catch (err) {
        // Unreachable: a new channel for the next attempt, not grpc-js's reconnect backoff.
        if (err instanceof RoomcastError && err.code === 'UNAVAILABLE' && err.noAnswer) this.grpc.reset();
        throw err;
      }
    }
    const tryGrpc =
      this.grpcAvailable !== false || this.grpcCandidate || this.grpc.state() === grpc.connectivityState.READY;
    if (tryGrpc) {
      try {
        const response = await this.viaGrpc(call);
        this.setGrpcAvailable(true);
        return response;
      } catch (err) {
        // An answer from the server (any code) is final for this attempt.
        if (!(err instanceof RoomcastError) || err.code !== 'UNAVAILABLE' || !err.noAnswer) {
          if (err instanceof RoomcastError && !err.noAnswer) this.setGrpcAvailable(true);
          throw err;
        }
        this.setGrpcAvailable(false, err.reason);
        this.grpc.reset();
        // The request may have arrived: only a safe-to-repeat call goes on to the shim.
        if (!err.notSent && !call.idempotent) throw err;
      }
    } else {
      this.kickRecheck();
    }
    if (!call.fellBack) {
      call.fellBack = true;
      this.counters.fallbacks += 1;
    }
    try {
      return await this.viaHttp(call);
    } catch (err) {
      if (err instanceof RoomcastError && err.noAnswer && err.code === 'UNAVAILABLE') {
        err.message += `; gRPC ${this.config.grpcTarget}: ${this.grpcDownReason}`;
      }
      throw err;
    }
  }

  private async viaGrpc(call: PreparedCall): Promise<unknown> {
    this.lastTransport = 'grpc';
    call.grpcRequest ??= this.grpcRequest(call);
    await this.grpc.ready(Math.min(call.deadline, Date.now() + this.config.connectTimeoutMs));
    try {
      const response = await this.grpc.call({
        definition: call.method.definition,
        request: call.grpcRequest,
        metadata: this.grpcMetadata(),
        deadline: call.deadline,
        signal: call.signal,
      });
      this.counters.grpcCalls += 1;
      return this.schema.fromGrpc(call.method.responseType, response);
    } catch (err) {
      if (err instanceof RoomcastError && !err.noAnswer) this.counters.grpcCalls += 1;
      throw err;
    }
  }

  private grpcRequest(call: PreparedCall): Record<string, unknown> {
    let request = call.request!;
    const jsonField = kJsonFields[call.method.name];
    if (jsonField) request = RoomcastClient.grpcJsonText(request, ...jsonField);
    if (call.method.name === 'EmitBatch' && Array.isArray(request.emits)) {
      request = {
        ...request,
        emits: (request.emits as Record<string, unknown>[]).map((e) => RoomcastClient.grpcJsonText(e, 'data', 'dataJson')),
      };
    }
    return this.schema.toGrpc(call.method.requestType, request);
  }

  private async viaHttp(call: PreparedCall): Promise<unknown> {
    this.lastTransport = 'http';
    const { route } = call.method;
    if (!route) throw new RoomcastError('UNIMPLEMENTED', `${call.method.name} has no HTTP route`, { transport: 'http' });
    const json = this.schema.toHttpJson(call.method.requestType, call.request!);
    let body: string | undefined;
    let query: URLSearchParams | undefined;
    if (route.body === '*') {
      body = JSON.stringify(json);
    } else {
      const inBody = route.body ? json[route.body] : undefined;
      if (route.body) body = JSON.stringify(inBody ?? {});
      query = new URLSearchParams();
      for (const [key, value] of Object.entries(json)) {
        if (key === route.body) continue;
        for (const item of Array.isArray(value) ? value : [value]) {
          if (typeof item === 'object' && item !== null) {
            throw new RoomcastError('INVALID_ARGUMENT', `field '${key}' cannot be a query parameter of ${route.verb} ${route.path}`);
          }
          query.append(key, String(item));
        }
      }
    }
    const headers: Record<string, string> = {};
    if (this.config.apiKey) headers.authorization = `Bearer ${this.config.apiKey}`;
    try {
      const response = await this.http.call({
        verb: route.verb,
        path: route.path,
        query,
        body,
        headers,
        deadline: call.deadline,
        signal: call.signal,
        bodyOnStatus: call.bodyOnStatus,
      });
      this.counters.httpCalls += 1;
      return response;
    } catch (err) {
      if (err instanceof RoomcastError && !err.noAnswer) this.counters.httpCalls += 1;
      throw err;
    }
  }
}

interface PreparedCall {
  method: MethodSchema;
  idempotent: boolean;
  deadline: number;
  signal?: AbortSignal;
  bodyOnStatus?: number[];
  request?: Record<string, unknown>;
  grpcRequest?: Record<string, unknown>;
  fellBack: boolean;
}
