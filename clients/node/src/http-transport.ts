// The HTTP shim side: the same API as JSON over HTTP(S) with node:http,
// through one kept-alive agent (which carries the CA and client certificate
// for https). For a plain `localhost` base URL the request goes to whichever
// loopback address (::1 or 127.0.0.1) accepts a TCP connection, probed again
// after a failure.
import http from 'node:http';
import https from 'node:https';
import { isLocalhostName, probeLoopback, type LoopbackAddress } from './address';
import { RoomcastError, codeFromHttpStatus, codeName } from './errors';
import type { HttpVerb } from './schema';
import type { TlsMaterial } from './tls';

export interface HttpCall {
  verb: HttpVerb;
  path: string;
  query?: URLSearchParams;
  body?: string;
  headers: Record<string, string>;
  deadline: number;
  signal?: AbortSignal;
  /** HTTP statuses whose body is the response rather than an error (Health's 503 NOT_SERVING). */
  bodyOnStatus?: number[];
}

// Connect errors: the request never left this machine.
const kNotSentCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

interface Sent {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  agent: http.Agent;
}

/** One request; resolves the status and the whole body, rejects with the socket's error (its `code` kept). */
function send(url: URL, sent: Sent): Promise<{ status: number; text: string }> {
  const module = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = module.request(url, { method: sent.method, headers: sent.headers, signal: sent.signal, agent: sent.agent }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(sent.body);
  });
}

/** An AbortSignal that fires when any of `signals` does (AbortSignal.any for every Node 20). */
function anySignal(signals: AbortSignal[]): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const listeners: Array<[AbortSignal, () => void]> = [];
  for (const s of signals) {
    if (s.aborted) {
      controller.abort(s.reason);
      break;
    }
    const listener = () => controller.abort(s.reason);
    s.addEventListener('abort', listener, { once: true });
    listeners.push([s, listener]);
  }
  return {
    signal: controller.signal,
    dispose: () => {
      for (const [s, l] of listeners) s.removeEventListener('abort', l);
    },
  };
}

export class HttpTransport {
  /** The base URL as configured (`http://localhost:3001`). */
  readonly baseUrl: URL;
  private readonly loopbackPort: number | null;
  private loopback: LoopbackAddress | null = null;

  private readonly agent: http.Agent;

  constructor(baseUrl: string, private readonly probeTimeoutMs: number, private readonly userAgent: string, tls: TlsMaterial | null = null) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new TypeError(`INTERNAL_API_URL / httpUrl is not a URL: ${JSON.stringify(baseUrl)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`INTERNAL_API_URL / httpUrl must be http: or https:, got ${JSON.stringify(baseUrl)}`);
    }
    this.baseUrl = url;
    this.agent = url.protocol === 'https:' ? new https.Agent({ keepAlive: true, minVersion: 'TLSv1.2', ...tls }) : new http.Agent({ keepAlive: true });
    // Plain http only: an https certificate names `localhost`, not an address.
    this.loopbackPort = url.protocol === 'http:' && isLocalhostName(url.hostname) ? Number(url.port || 80) : null;
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  /** The origin requests really go to (`http://[::1]:3001`), or null while unknown. */
  get current(): string | null {
    if (this.loopbackPort === null) return this.baseUrl.origin;
    if (!this.loopback) return null;
    return `${this.baseUrl.protocol}//${this.loopback === '::1' ? '[::1]' : '127.0.0.1'}:${this.loopbackPort}`;
  }

  private fail(reason: string, options: { notSent: boolean; cause?: unknown }): RoomcastError {
    return new RoomcastError('UNAVAILABLE', `HTTP shim ${this.baseUrl.origin}: ${reason}`, {
      transport: 'http',
      notSent: options.notSent,
      noAnswer: true,
      reason,
      cause: options.cause,
    });
  }

  private async urlFor(call: HttpCall): Promise<URL> {
    const url = new URL(this.baseUrl.href);
    if (this.loopbackPort !== null) {
      if (!this.loopback) {
        const budget = Math.min(this.probeTimeoutMs, call.deadline - Date.now());
        const probe = await probeLoopback(this.loopbackPort, budget);
        if (!probe.address) throw this.fail(probe.errors.join(', '), { notSent: true });
        this.loopback = probe.address;
      }
      url.hostname = this.loopback === '::1' ? '[::1]' : '127.0.0.1';
    }
    url.pathname = url.pathname.replace(/\/+$/, '') + call.path;
    url.search = call.query?.toString() ?? '';
    return url;
  }

  async call(call: HttpCall): Promise<Record<string, unknown>> {
    const remaining = call.deadline - Date.now();
    if (remaining <= 0) {
      throw new RoomcastError('DEADLINE_EXCEEDED', 'deadline exceeded before the HTTP request', { transport: 'http', notSent: true });
    }
    const url = await this.urlFor(call);
    const timeout = AbortSignal.timeout(Math.max(1, call.deadline - Date.now()));
    const { signal, dispose } = anySignal(call.signal ? [timeout, call.signal] : [timeout]);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.userAgent, ...call.headers };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    let status: number;
    let text: string;
    try {
      ({ status, text } = await send(url, { method: call.verb, headers, body: call.body, signal, agent: this.agent }));
    } catch (err) {
      // The next attempt probes the loopback addresses again.
      this.loopback = null;
      if (call.signal?.aborted) {
        throw new RoomcastError('CANCELLED', 'the call was cancelled', { transport: 'http', cause: err, noAnswer: true });
      }
      if (timeout.aborted) {
        throw new RoomcastError('DEADLINE_EXCEEDED', `HTTP shim ${url.origin} did not answer before the deadline`, {
          transport: 'http',
          cause: err,
          noAnswer: true,
        });
      }
      const { code, message = String(err) } = err as { code?: string; message?: string };
      throw this.fail(`${message}${code && !message.includes(code) ? ` (${code})` : ''}`, {
        notSent: !!code && kNotSentCodes.has(code),
        cause: err,
      });
    } finally {
      dispose();
    }

    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      json = undefined;
    }
    const isObject = typeof json === 'object' && json !== null && !Array.isArray(json);
    const body = json as Record<string, unknown>;
    if (status >= 200 && status < 300) {
      if (!isObject) {
        throw new RoomcastError('INTERNAL', `HTTP ${status} from ${url.origin}${call.path} is not a JSON object: ${text.slice(0, 200)}`, {
          transport: 'http',
          httpStatus: status,
        });
      }
      return body;
    }
    const isRpcStatus = isObject && typeof body.code === 'number' && typeof body.message === 'string';
    if (!isRpcStatus && isObject && call.bodyOnStatus?.includes(status)) return body;
    if (isRpcStatus) {
      throw new RoomcastError(codeName(body.code as number), body.message as string, {
        transport: 'http',
        httpStatus: status,
        details: Array.isArray(body.details) ? body.details : undefined,
      });
    }
    throw new RoomcastError(codeFromHttpStatus(status), `HTTP ${status} from ${url.origin}${call.path}${text ? `: ${text.slice(0, 200)}` : ''}`, {
      transport: 'http',
      httpStatus: status,
    });
  }
}
