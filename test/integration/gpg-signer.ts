/**
 * A throwaway OpenPGP key in a private GnuPG home, for tests that sign an InRelease the way a
 * Debian mirror does: `sign` clear-signs a text, `keyring` is what gpgv is given to check it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Signer {
  keyring: string;
  sign(text: string): string;
}

export function throwawaySigner(user: string): Signer {
  const home = mkdtempSync(path.join(os.tmpdir(), 'hlab-gpg-'));
  const gpg = (args: string[], input?: string) =>
    execFileSync(
      'gpg',
      ['--homedir', home, '--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args],
      { input, stdio: ['pipe', 'pipe', 'ignore'] },
    );
  gpg(['--quick-gen-key', user, 'ed25519', 'sign', '1d']);
  const keyring = path.join(home, 'keyring.gpg');
  writeFileSync(keyring, gpg(['--export', user]));
  return { keyring, sign: (text) => gpg(['--clearsign', '--local-user', user], text).toString() };
}
