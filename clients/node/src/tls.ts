// The client side of TLS, read once from files. One rule for both
// transports, as roomcastd turns TLS on for both of its ports at once: with a
// CA file, a client certificate or an https:// URL the client speaks TLS to
// gRPC and to the HTTP shim, and a plain http:// URL is refused rather than
// fallen back to.
import fs from 'node:fs';

export interface TlsFiles {
  /** PEM CA bundle that signs the server's certificate; default the system's roots. */
  caFile?: string;
  /** PEM client certificate (mTLS on gRPC); needs clientKeyFile. */
  clientCertFile?: string;
  clientKeyFile?: string;
}

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

function readPem(setting: string, file: string): Buffer {
  let pem: Buffer;
  try {
    pem = fs.readFileSync(file);
  } catch (err) {
    throw new TypeError(`${setting} ${JSON.stringify(file)} cannot be read: ${(err as Error).message}`);
  }
  if (!pem.includes('-----BEGIN')) throw new TypeError(`${setting} ${JSON.stringify(file)} is not a PEM file`);
  return pem;
}

/** Whether TLS is on for these files and the HTTP shim's URL. */
export function usesTls(files: TlsFiles, httpUrl: string | undefined): boolean {
  return !!files.caFile || !!files.clientCertFile || /^https:/i.test(httpUrl ?? '');
}

/** The files' contents, or null when TLS is off; a TypeError names the setting that is wrong. */
export function loadTls(files: TlsFiles, httpUrl: string): TlsMaterial | null {
  if (!files.clientCertFile !== !files.clientKeyFile) {
    throw new TypeError('ROOMCAST_CLIENT_CERT_FILE / clientCertFile and ROOMCAST_CLIENT_KEY_FILE / clientKeyFile go together: set both or neither');
  }
  if (!usesTls(files, httpUrl)) return null;
  if (!/^https:/i.test(httpUrl)) {
    throw new TypeError(`TLS is on (a CA file or a client certificate), so INTERNAL_API_URL / httpUrl must be https:, got ${JSON.stringify(httpUrl)}: there is no plain-HTTP fallback`);
  }
  return {
    ca: files.caFile ? readPem('ROOMCAST_CA_FILE / caFile', files.caFile) : undefined,
    cert: files.clientCertFile ? readPem('ROOMCAST_CLIENT_CERT_FILE / clientCertFile', files.clientCertFile) : undefined,
    key: files.clientKeyFile ? readPem('ROOMCAST_CLIENT_KEY_FILE / clientKeyFile', files.clientKeyFile) : undefined,
  };
}
