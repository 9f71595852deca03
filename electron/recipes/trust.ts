/**
 * Who signed an evidence bundle: this installation's key is trusted, and so are the public keys a
 * team imported (`hlab keys trust FILE`); any other signer is "unknown", however intact its bundle.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../shared/errors.js';
import type { TrustedKey } from '../../shared/evidence.js';

/** One signing key per installation, created on first use, private part 0600. */
export function evidenceKey(home: string): { privatePem: string; publicPem: string } {
  const dir = path.join(home, 'keys');
  const file = path.join(dir, 'evidence-ed25519.pem');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  const privatePem = readFileSync(file, 'utf8');
  const publicPem = createPublicKey(createPrivateKey(privatePem)).export({
    type: 'spki',
    format: 'pem',
  }) as string;
  return { privatePem, publicPem };
}

const dirOf = (home: string) => path.join(home, 'trusted-keys');

/** `SHA256:<base64>` of the key's DER encoding, as ssh prints fingerprints. */
export function fingerprint(publicPem: string): string {
  const der = createPublicKey(publicPem).export({ type: 'spki', format: 'der' });
  return `SHA256:${createHash('sha256').update(der).digest('base64').replace(/=+$/, '')}`;
}

export function trustedKeys(home: string): TrustedKey[] {
  const own = evidenceKey(home).publicPem;
  const keys: TrustedKey[] = [{ name: 'this installation', fingerprint: fingerprint(own), publicKey: own }];
  const dir = dirOf(home);
  if (!existsSync(dir)) return keys;
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith('.pem'))
    .sort()) {
    const pem = readFileSync(path.join(dir, f), 'utf8');
    try {
      keys.push({ name: f.slice(0, -4), fingerprint: fingerprint(pem), publicKey: pem });
    } catch {
      // An unreadable key trusts nobody.
    }
  }
  return keys;
}

/** Imports a colleague's public key (PEM, ed25519) as trusted, under a name. */
export function trustKey(home: string, pem: string, name: string): TrustedKey {
  if (!/^[a-z0-9][a-z0-9._-]{0,62}$/i.test(name))
    throw new HlabError(
      'bad-request',
      `Key name must be letters, digits, ".", "_" or "-" (got ${JSON.stringify(name)}).`,
    );
  let key;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new HlabError('bad-request', `Not a public key in PEM form: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new HlabError(
      'bad-request',
      `Evidence keys are ed25519; this one is ${key.asymmetricKeyType ?? 'unknown'}.`,
    );
  const clean = key.export({ type: 'spki', format: 'pem' }) as string;
  mkdirSync(dirOf(home), { recursive: true, mode: 0o700 });
  writeFileSync(path.join(dirOf(home), `${name}.pem`), clean, { mode: 0o600 });
  return { name, fingerprint: fingerprint(clean), publicKey: clean };
}
