// The gRPC side: one channel, reused; for a `localhost` target the channel
// goes to whichever loopback address (::1 or 127.0.0.1) accepts a TCP
// connection, chosen again whenever the channel is reset after a failure.
import * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';
import { isLocalhostName, probeLoopback } from './address';
import { RoomcastError, codeName } from './errors';

const { connectivityState: State } = grpc;

/** host and port of a `host:port` or `dns:[//authority/]host:port` target, when host is a name or address. */
export function parseGrpcTarget(target: string): { host: string; port: number } | null {
  const match = /^(?:dns:(?:\/\/[^/]*\/)?)?(\[[^\]]+\]|[^:/[\]]+):(\d{1,5})$/.exec(target);
  if (!match) return null;
  return { host: match[1].replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}

export interface GrpcTransportOptions {
  credentials: grpc.ChannelCredentials;
  channelOptions: grpc.ChannelOptions;
}

export interface GrpcCall {
  definition: protoLoader.MethodDefinition<object, object>;
  request: object;
  metadata: grpc.Metadata;
  deadline: number;
  signal?: AbortSignal;
}

/** What the channel could do before a call: READY, or TRANSIENT_FAILURE (the call then fails fast). */
type Readiness = grpc.connectivityState.READY | grpc.connectivityState.TRANSIENT_FAILURE;

export class GrpcTransport {
  /** The target as configured (`localhost:50051`). */
  readonly target: string;
  private readonly loopbackPort: number | null;
  private client: grpc.Client | null = null;
  private creating: Promise<grpc.Client> | null = null;
  /** Bumped by reset(): a connect begun before it must not install its channel. */
  private generation = 0;
  /** The target the channel really uses (`ipv6:[::1]:50051`), null before the first connect. */
  current: string | null = null;
  private closed = false;

  constructor(target: string, private readonly options: GrpcTransportOptions) {
    this.target = target;
    const parsed = parseGrpcTarget(target);
    this.loopbackPort = parsed && isLocalhostName(parsed.host) ? parsed.port : null;
  }

  /** The channel's state; IDLE when there is no channel yet. */
  state(): grpc.connectivityState {
    if (!this.client) return State.IDLE;
    try {
      return this.client.getChannel().getConnectivityState(false);
    } catch {
      return State.SHUTDOWN;
    }
  }

  /** Changes with every reset(): names the channel a failure happened on. */
  get epoch(): number {
    return this.generation;
  }

  /** Drops the channel: the next call connects anew (and probes loopback again). */
  reset(): void {
    const client = this.client;
    this.client = null;
    this.creating = null;
    this.current = null;
    this.generation += 1;
    client?.close();
  }

  close(): void {
    this.closed = true;
    this.reset();
  }

  /** `gRPC localhost:50051 (ipv6:[::1]:50051)`: the target and where it led. */
  private where(): string {
    return this.current && this.current !== this.target ? `gRPC ${this.target} (${this.current})` : `gRPC ${this.target}`;
  }

  private unreachable(reason: string): RoomcastError {
    return new RoomcastError('UNAVAILABLE', `${this.where()}: ${reason}`, { transport: 'grpc', notSent: true, reason });
  }

  private async channelClient(until: number): Promise<grpc.Client> {
    if (this.client) return this.client;
    if (!this.creating) {
      const generation = this.generation;
      const creating = (async () => {
        let target = this.target;
        if (this.loopbackPort !== null) {
          const probe = await probeLoopback(this.loopbackPort, until - Date.now());
          if (!probe.address) throw this.unreachable(probe.errors.join(', '));
          target = probe.address === '::1' ? `ipv6:[::1]:${this.loopbackPort}` : `ipv4:127.0.0.1:${this.loopbackPort}`;
        }
        if (this.closed || this.generation !== generation) throw this.unreachable('the channel was reset while connecting');
        this.client = new grpc.Client(target, this.options.credentials, this.options.channelOptions);
        this.current = target;
        return this.client;
      })();
      this.creating = creating;
      creating.catch(() => {}).finally(() => {
        if (this.creating === creating) this.creating = null;
      });
    }
    return this.creating;
  }

  /**
   * Connects the channel, waiting at most until `until` (epoch ms): READY, or
   * TRANSIENT_FAILURE when the connection attempt failed. Throws UNAVAILABLE
   * (nothing sent) when no loopback address accepts or no connection is made
   * in time.
   */
  async ready(until: number): Promise<Readiness> {
    if (this.closed) throw this.unreachable('the client was closed');
    const client = await this.channelClient(until);
    const channel = client.getChannel();
    for (;;) {
      let state: grpc.connectivityState;
      try {
        state = channel.getConnectivityState(true);
      } catch {
        throw this.unreachable('the channel was closed');
      }
      if (state === State.READY || state === State.TRANSIENT_FAILURE) return state;
      if (state === State.SHUTDOWN) throw this.unreachable('the channel was closed');
      if (Date.now() >= until) throw this.unreachable('no connection within the connect timeout');
      const changed = await new Promise<boolean>((resolve) => {
        try {
          channel.watchConnectivityState(state, until, (err?: Error) => resolve(!err));
        } catch {
          resolve(false);
        }
      });
      if (!changed && Date.now() >= until) {
        throw this.unreachable('no connection within the connect timeout');
      }
    }
  }

  /** One unary call on the current channel (call ready() first). */
  call(call: GrpcCall): Promise<Record<string, unknown>> {
    const client = this.client;
    if (!client) return Promise.reject(this.unreachable('not connected'));
    return new Promise((resolve, reject) => {
      let onAbort: (() => void) | undefined;
      const pending = client.makeUnaryRequest(
        call.definition.path,
        call.definition.requestSerialize as (value: object) => Buffer,
        call.definition.responseDeserialize as (value: Buffer) => Record<string, unknown>,
        call.request,
        call.metadata,
        { deadline: new Date(call.deadline) },
        (err, response) => {
          if (onAbort) call.signal?.removeEventListener('abort', onAbort);
          if (err) reject(this.toError(err, client));
          else resolve(response ?? {});
        },
      );
      if (call.signal) {
        onAbort = () => pending.cancel();
        if (call.signal.aborted) onAbort();
        else call.signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  }

  /**
   * Opens a server-streaming call on the current channel (call ready()
   * first). No deadline: the stream lasts until the server ends it or the
   * caller cancels it.
   */
  stream(call: Omit<GrpcCall, 'deadline' | 'signal'>): grpc.ClientReadableStream<Record<string, unknown>> {
    const client = this.client;
    if (!client) throw this.unreachable('not connected');
    return client.makeServerStreamRequest(
      call.definition.path,
      call.definition.requestSerialize as (value: object) => Buffer,
      call.definition.responseDeserialize as (value: Buffer) => Record<string, unknown>,
      call.request,
      call.metadata,
      {},
    );
  }

  /** A stream's failure as a RoomcastError, judged like a unary call's. */
  streamError(err: grpc.ServiceError): RoomcastError {
    return this.toError(err, this.client);
  }

  private toError(err: grpc.ServiceError, client: grpc.Client | null): RoomcastError {
    const code = codeName(err.code);
    const details = err.details || err.message;
    let state: grpc.connectivityState;
    try {
      state = client ? client.getChannel().getConnectivityState(false) : State.SHUTDOWN;
    } catch {
      state = State.SHUTDOWN;
    }
    // grpc-js fails a call that never got a connection with "No connection
    // established" (the request was not sent); a connection that broke during
    // the call leaves the channel not READY (the request may have arrived).
    const notSent = code === 'UNAVAILABLE' && /No connection established|Name resolution failed|failed to connect/i.test(details);
    const noAnswer =
      notSent ||
      code === 'DEADLINE_EXCEEDED' ||
      code === 'CANCELLED' ||
      (code === 'UNAVAILABLE' &&
        (state !== State.READY || /Connection dropped|ECONNRESET|EPIPE|socket hang up|GOAWAY|closed/i.test(details)));
    return new RoomcastError(code, noAnswer ? `${this.where()}: ${details}` : details, {
      transport: 'grpc',
      notSent,
      noAnswer,
      reason: this.current ? `${details} (${this.current})` : details,
      cause: err,
    });
  }
}
