/** gRPC status code names, indexed by their number (google.rpc.Code). */
export const CODE_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

/** A gRPC status code name, such as `'INVALID_ARGUMENT'`. */
export type RoomcastErrorCode = (typeof CODE_NAMES)[number];

/** Which transport an answer or a failure came from; `'client'` = checked before sending. */
export type Transport = 'grpc' | 'http';

export function codeName(code: number): RoomcastErrorCode {
  return CODE_NAMES[code] ?? 'UNKNOWN';
}

export function codeNumber(name: RoomcastErrorCode): number {
  return CODE_NAMES.indexOf(name);
}

/**
 * The gRPC code for an HTTP status without a google.rpc.Status body (a proxy
 * in front of the shim, say): the inverse of the server's table.
 */
export function codeFromHttpStatus(status: number): RoomcastErrorCode {
  switch (status) {
    case 400: return 'INVALID_ARGUMENT';
    case 401: return 'UNAUTHENTICATED';
    case 403: return 'PERMISSION_DENIED';
    case 404: return 'NOT_FOUND';
    case 405: return 'UNIMPLEMENTED';
    case 409: return 'ABORTED';
    case 413: return 'RESOURCE_EXHAUSTED';
    case 429: return 'RESOURCE_EXHAUSTED';
    case 499: return 'CANCELLED';
    case 501: return 'UNIMPLEMENTED';
    case 502: return 'UNAVAILABLE';
    case 503: return 'UNAVAILABLE';
    case 504: return 'DEADLINE_EXCEEDED';
    default:
      return status >= 500 ? 'INTERNAL' : status >= 400 ? 'FAILED_PRECONDITION' : 'UNKNOWN';
  }
}

export interface RoomcastErrorOptions {
  /** The HTTP status, when the answer came from the HTTP shim. */
  httpStatus?: number;
  /** The transport of the attempt that failed; undefined when nothing was sent. */
  transport?: Transport;
  /** google.rpc.Status details, when the server sent any. */
  details?: unknown[];
  /** The RPC (`'Emit'`, ...). */
  method?: string;
  cause?: unknown;
  /** @internal The request certainly did not reach the server (connect failed). */
  notSent?: boolean;
  /** @internal The endpoint could not be reached or the connection broke (no answer). */
  noAnswer?: boolean;
  /** @internal What went wrong, without the endpoint's name (for the transport-change log). */
  reason?: string;
}

/**
 * Every failure of a RoomcastClient call. `code` is the gRPC status code name
 * (the same whichever transport carried the call), `message` the server's
 * message (or what went wrong on the way), `httpStatus` the HTTP status when
 * the HTTP shim answered.
 */
export class RoomcastError extends Error {
  readonly code: RoomcastErrorCode;
  /** The numeric gRPC status code. */
  readonly grpcCode: number;
  declare readonly httpStatus?: number;
  declare readonly transport?: Transport;
  declare readonly details?: unknown[];
  declare readonly method?: string;
  /** Attempts made before giving up (set by the client on the error it throws). */
  attempts = 1;
  /** @internal */
  readonly notSent: boolean;
  /** @internal */
  readonly noAnswer: boolean;
  /** @internal */
  readonly reason: string;

  constructor(code: RoomcastErrorCode, message: string, options: RoomcastErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RoomcastError';
    this.code = code;
    this.grpcCode = codeNumber(code);
    if (options.httpStatus !== undefined) this.httpStatus = options.httpStatus;
    if (options.transport !== undefined) this.transport = options.transport;
    if (options.details !== undefined) this.details = options.details;
    if (options.method !== undefined) this.method = options.method;
    this.notSent = options.notSent ?? false;
    this.noAnswer = options.noAnswer ?? this.notSent;
    this.reason = options.reason ?? message;
    // Internal fields stay out of JSON.stringify / util.inspect.
    for (const key of ['notSent', 'noAnswer', 'reason']) Object.defineProperty(this, key, { enumerable: false });
  }
}

export function invalidArgument(message: string): RoomcastError {
  return new RoomcastError('INVALID_ARGUMENT', message);
}
