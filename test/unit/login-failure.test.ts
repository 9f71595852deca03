import { describe, expect, it } from 'vitest';
import { HlabError } from '../../shared/errors.js';
import { loginFailure } from '../../electron/engine/probes.js';

describe('a failed fresh login, in words (ux review I-9)', () => {
  it('says what it means for the step, and keeps the raw error in brackets', () => {
    expect(loginFailure(new HlabError('ssh-auth', 'SSH key login refused for lab@127.0.0.1:2222.'))).toBe(
      'sshd refused the fresh key login: the change locks users out (SSH key login refused for lab@127.0.0.1:2222)',
    );
    expect(
      loginFailure(
        new HlabError('ssh-refused', 'SSH connection to lab@127.0.0.1:2222 failed: read ECONNRESET'),
      ),
    ).toBe(
      'sshd did not let a fresh login through: the change locks users out or stopped sshd (SSH connection to lab@127.0.0.1:2222 failed: read ECONNRESET)',
    );
    expect(loginFailure(new HlabError('host-key-changed', 'The host key changed.'))).toBe(
      'The host key changed',
    );
    expect(loginFailure(new Error('boom'))).toBe('boom');
  });
});

describe('the pause between SSH attempts', () => {
  it('is short just after a restore (the port resets for ~120 ms), then a boot’s pace', async () => {
    const { retryPause } = await import('../../electron/ssh/session.js');
    expect(retryPause(0)).toBe(50);
    expect(retryPause(1999)).toBe(50);
    expect(retryPause(2000)).toBe(500);
    expect(retryPause(100, 20)).toBe(20);
    expect(retryPause(5000, 100)).toBe(100);
  });
});
