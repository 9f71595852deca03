/** One ed25519 key pair per machine, made by the app and stored 0600 under $HLAB_HOME/keys. */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';

const { utils } = ssh2;

export interface KeyPair {
  privateKey: string;
  publicKey: string;
  privatePath: string;
}

export function keyPaths(keysDir: string, machine: string) {
  const dir = path.join(keysDir, machine);
  return { dir, privatePath: path.join(dir, 'id_ed25519'), publicPath: path.join(dir, 'id_ed25519.pub') };
}

/**
 * ssh2's generateKeyPairSync('ed25519') writes a malformed key about once in 170 (a public key
 * whose first byte is zero comes out 31 bytes long; measured 3 in 500), which ssh2 itself then
 * refuses to load: a key is kept only once it parses back.
 */
export function newEd25519(comment: string): { private: string; public: string } {
  for (let i = 0; ; i += 1) {
    const pair = utils.generateKeyPairSync('ed25519', { comment });
    if (!(utils.parseKey(pair.private) instanceof Error) || i >= 20) return pair;
  }
}

export function ensureKeyPair(keysDir: string, machine: string): KeyPair {
  const p = keyPaths(keysDir, machine);
  if (!existsSync(p.privatePath)) {
    mkdirSync(p.dir, { recursive: true, mode: 0o700 });
    const pair = newEd25519(`hlab-${machine}`);
    writeFileSync(p.privatePath, pair.private, { mode: 0o600 });
    writeFileSync(p.publicPath, pair.public + '\n', { mode: 0o644 });
    chmodSync(p.privatePath, 0o600);
  }
  return {
    privateKey: readFileSync(p.privatePath, 'utf8'),
    publicKey: readFileSync(p.publicPath, 'utf8').trim(),
    privatePath: p.privatePath,
  };
}

export function removeKeyPair(keysDir: string, machine: string): void {
  rmSync(keyPaths(keysDir, machine).dir, { recursive: true, force: true });
}
