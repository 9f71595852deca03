/**
 * TLS material for the class server: the trainer's own certificate and key, or a self-signed
 * pair made with OpenSSL for this class (ECDSA P-256, valid two days, the listen address in its
 * subjectAltName). Either way the SHA-256 fingerprint is what trainees compare in the browser.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { HlabError } from '../../shared/errors.js';
import { run } from './run.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** AA:BB:… as Chromium and Firefox show it. */
  fingerprint: string;
  source: 'self-signed' | 'trainer';
}

function fingerprintOf(cert: string, where: string): string {
  try {
    return new X509Certificate(cert).fingerprint256;
  } catch (err) {
    throw new HlabError('bad-request', `${where} is not a PEM certificate: ${(err as Error).message}`);
  }
}

/** The trainer's pair: both read and parsed here, so a wrong file fails before any seat is made. */
export function trainerTls(certFile: string, keyFile: string): TlsMaterial {
  const read = (f: string, what: string) => {
    try {
      return readFileSync(f, 'utf8');
    } catch (err) {
      throw new HlabError(
        'bad-request',
        `Cannot read the TLS ${what} ${f}: ${(err as NodeJS.ErrnoException).code ?? err}`,
      );
    }
  };
  const cert = read(certFile, 'certificate');
  const key = read(keyFile, 'key');
  const fingerprint = fingerprintOf(cert, certFile);
  let matches = false;
  try {
    matches = new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch (err) {
    throw new HlabError('bad-request', `${keyFile} is not a PEM private key: ${(err as Error).message}`);
  }
  if (!matches) throw new HlabError('bad-request', `${keyFile} is not the key of ${certFile}.`);
  return { cert, key, fingerprint, source: 'trainer' };
}

/** A fresh self-signed pair for `address` (an IP literal or a host name). */
export async function selfSignedTls(address: string, signal?: AbortSignal): Promise<TlsMaterial> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-tls-'));
  try {
    const san = isIP(address) ? `IP:${address}` : `DNS:${address}`;
    const r = await run(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=Hardening Lab class',
        '-addext',
        `subjectAltName=${san}`,
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { timeoutMs: 30_000, packageHint: 'openssl', ...(signal ? { signal } : {}) },
    );
    if (r.code !== 0)
      throw new HlabError(
        'command-failed',
        `openssl could not make a certificate: ${r.stderr.trim().slice(0, 500)}`,
      );
    const cert = readFileSync(path.join(dir, 'cert.pem'), 'utf8');
    const key = readFileSync(path.join(dir, 'key.pem'), 'utf8');
    return { cert, key, fingerprint: fingerprintOf(cert, 'the new certificate'), source: 'self-signed' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
