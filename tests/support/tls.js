// TLS material for the tests, made with openssl on the spot: a CA, server
// certificates for localhost, a client certificate, and a Kubernetes-style
// secret volume to swap them in.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Whether the openssl command is there (the TLS suites skip without it). */
export function hasOpenssl() {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** openssl-made CA, two server certificates for localhost (serials 1001, 1002) and a client certificate. */
export function makeCertificates(dir) {
  const file = (name) => path.join(dir, name);
  const openssl = (...args) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=Roomcast TLS Test CA',
    '-keyout', file('ca.key'), '-out', file('ca.pem'));
  fs.writeFileSync(file('server.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n');
  fs.writeFileSync(file('client.cnf'), 'extendedKeyUsage=clientAuth\n');
  const sign = (name, subject, serial, ext) => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', file(`${name}.key`),
      '-out', file(`${name}.csr`));
    openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
      '-set_serial', String(serial), '-days', '1', '-extfile', file(ext), '-out', file(`${name}.pem`));
  };
  sign('one', '/CN=localhost', 1001, 'server.cnf');
  sign('two', '/CN=localhost', 1002, 'server.cnf');
  sign('client', '/CN=service-a', 2001, 'client.cnf');
  return {
    dir,
    ca: file('ca.pem'),
    cert: file('one.pem'),
    key: file('one.key'),
    clientCert: file('client.pem'),
    clientKey: file('client.key'),
  };
}

/**
 * A Kubernetes-style secret volume: cert.pem and key.pem are symlinks into
 * `..data`, itself a symlink swapped atomically to a new version directory.
 */
export class SecretVolume {
  constructor(root) {
    this.root = root;
    this.version = 0;
    fs.mkdirSync(root);
  }

  put(certFile, keyFile) {
    const name = `..v${++this.version}`;
    fs.mkdirSync(path.join(this.root, name));
    fs.copyFileSync(certFile, path.join(this.root, name, 'cert.pem'));
    fs.copyFileSync(keyFile, path.join(this.root, name, 'key.pem'));
    fs.symlinkSync(name, path.join(this.root, '..data_tmp'));
    fs.renameSync(path.join(this.root, '..data_tmp'), path.join(this.root, '..data'));
    for (const f of ['cert.pem', 'key.pem']) {
      const link = path.join(this.root, f);
      if (!fs.existsSync(link)) fs.symlinkSync(path.join('..data', f), link);
    }
  }

  get cert() {
    return path.join(this.root, 'cert.pem');
  }

  get key() {
    return path.join(this.root, 'key.pem');
  }
}

/**
 * A temporary directory with our CA and certificates (makeCertificates) and
 * another CA's certificate, for clients that must refuse a server: { dir,
 * certs, otherCa, remove() }.
 */
export function makeTlsFixture(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.mkdirSync(path.join(dir, 'ours'));
  fs.mkdirSync(path.join(dir, 'other'));
  return {
    dir,
    certs: makeCertificates(path.join(dir, 'ours')),
    otherCa: makeCertificates(path.join(dir, 'other')).ca,
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
