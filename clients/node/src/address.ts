import * as net from 'node:net';

/** The two loopback addresses `localhost` stands for. */
export type LoopbackAddress = '::1' | '127.0.0.1';

/**
 * True for `localhost`, `localhost.` and `*.localhost`: names that always mean
 * this machine's loopback (RFC 6761, as curl treats them), whatever the hosts
 * file or DNS say.
 */
export function isLocalhostName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

export interface ProbeResult {
  /** The loopback address that accepted a TCP connection; null when none did. */
  address: LoopbackAddress | null;
  /** Why each address failed (`connect ECONNREFUSED ::1:50051`, ...). */
  errors: string[];
}

/** Delay before 127.0.0.1 is tried while ::1 has not answered (RFC 8305's "Connection Attempt Delay", shortened for loopback). */
export const kFamilyDelayMs = 50;

/**
 * Happy eyeballs over loopback: connects to [::1]:port, and to 127.0.0.1:port
 * as soon as ::1 fails or after `delayMs`; the first TCP connection wins and
 * every socket is closed again. Resolves within `timeoutMs`.
 */
export function probeLoopback(port: number, timeoutMs: number, delayMs = kFamilyDelayMs): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const sockets: net.Socket[] = [];
    const errors: string[] = [];
    let pending = 0;
    let done = false;
    let ipv4Started = false;
    const finish = (address: LoopbackAddress | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(familyTimer);
      for (const socket of sockets) socket.destroy();
      resolve({ address, errors });
    };
    const attempt = (host: LoopbackAddress) => {
      pending += 1;
      const socket = net.connect({ host, port });
      sockets.push(socket);
      socket.once('connect', () => finish(host));
      socket.once('error', (err: NodeJS.ErrnoException) => {
        errors.push(err.message || `${err.code ?? 'error'} ${host}:${port}`);
        pending -= 1;
        if (host === '::1') startIpv4();
        if (pending === 0 && ipv4Started) finish(null);
      });
    };
    const startIpv4 = () => {
      if (ipv4Started || done) return;
      ipv4Started = true;
      clearTimeout(familyTimer);
      attempt('127.0.0.1');
    };
    const timer = setTimeout(() => {
      errors.push(`no TCP connection to [::1]:${port} or 127.0.0.1:${port} within ${timeoutMs} ms`);
      finish(null);
    }, Math.max(1, timeoutMs));
    const familyTimer = setTimeout(startIpv4, delayMs);
    attempt('::1');
  });
}

/** `host:port` with an IPv6 literal in brackets. */
export function hostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
