/** The app's ed25519 keys: every one it keeps must load back in ssh2 (ssh2's generator is not always right). */
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { newEd25519 } from '../../electron/ssh/keys.js';

describe('ed25519 key pairs', () => {
  it("ssh2's own generator sometimes writes a key ssh2 cannot load (why newEd25519 checks)", () => {
    let malformed = 0;
    for (let i = 0; i < 2000 && malformed === 0; i += 1)
      if (ssh2.utils.parseKey(ssh2.utils.generateKeyPairSync('ed25519').private) instanceof Error)
        malformed += 1;
    expect(malformed).toBeGreaterThan(0);
  });

  it('newEd25519 only ever returns keys that load, public halves of full length', () => {
    for (let i = 0; i < 1000; i += 1) {
      const pair = newEd25519('t');
      expect(ssh2.utils.parseKey(pair.private)).not.toBeInstanceOf(Error);
      // ssh-ed25519 blob: 4+11 bytes of type, 4 bytes of length, 32 bytes of key.
      expect(Buffer.from(pair.public.split(' ')[1] ?? '', 'base64')).toHaveLength(51);
    }
  });
});
