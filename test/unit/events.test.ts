/**
 * Login events from journald records, by the wording of OpenSSH 9.2p1, sudo 1.9.13 and logind 252
 * (Debian 12; lines from notes/container-host-controls.md B2-B3), their ECS form, and the spool's
 * at-least-once bookkeeping.
 */
import { appendFileSync, mkdtempSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { toEcs } from '../../shared/events.js';
import { classify, type JournalRecord } from '../../electron/events/classify.js';
import { parseJournal } from '../../electron/events/collect.js';
import { toRfc5424 } from '../../electron/events/formats.js';
import { Spool } from '../../electron/events/spool.js';

let seq = 0;
/** The programs' real paths on Debian 12, as journald records them in _EXE. */
const EXE: Record<string, string> = {
  sshd: '/usr/sbin/sshd',
  sudo: '/usr/bin/sudo',
  'systemd-logind': '/usr/lib/systemd/systemd-logind',
};
const rec = (ident: string, message: string | number[], extra: JournalRecord = {}): JournalRecord => ({
  __CURSOR: `s=abc;i=${(seq += 1)}`,
  __REALTIME_TIMESTAMP: '1763978400123456',
  _HOSTNAME: 'lab1',
  SYSLOG_IDENTIFIER: ident,
  SYSLOG_PID: '812',
  _PID: '812',
  _COMM: ident,
  _EXE: EXE[ident] ?? `/usr/bin/${ident}`,
  _UID: '0',
  MESSAGE: message,
  ...extra,
});
const OPERATOR = 'SHA256:opKeyFingerprintAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const ev = (ident: string, message: string | number[]) =>
  classify(rec(ident, message), 'lab1', new Set([OPERATOR]));

describe('classifying journald records', () => {
  it('sshd: accepted (with the key that logged in, and whether it is the app), failed, invalid, preauth', () => {
    expect(
      ev('sshd', `Accepted publickey for lab from 10.0.2.2 port 51514 ssh2: ED25519 ${OPERATOR}`),
    ).toMatchObject({
      action: 'ssh_login',
      outcome: 'success',
      user: 'lab',
      sourceIp: '10.0.2.2',
      sourcePort: 51514,
      method: 'publickey',
      keyFingerprint: OPERATOR,
      operator: true,
      process: 'sshd',
      pid: 812,
      time: '2025-11-24T10:00:00.123456Z',
      hostname: 'lab1',
    });
    expect(
      ev('sshd', 'Accepted publickey for lab from 10.0.2.2 port 1 ssh2: RSA SHA256:someoneElse')?.operator,
    ).toBe(false);
    expect(ev('sshd', 'Failed password for root from 10.0.2.2 port 51516 ssh2')).toMatchObject({
      action: 'ssh_login_failed',
      outcome: 'failure',
      user: 'root',
      method: 'password',
    });
    expect(ev('sshd', 'Failed password for invalid user bob from 10.0.2.2 port 51517 ssh2')).toMatchObject({
      action: 'ssh_login_failed',
      user: 'bob',
    });
    expect(
      ev('sshd', 'Failed publickey for lab from 10.0.2.2 port 51518 ssh2: ED25519 SHA256:wrongKey'),
    ).toMatchObject({
      action: 'ssh_login_failed',
      method: 'publickey',
      keyFingerprint: 'SHA256:wrongKey',
      operator: false,
    });
    expect(ev('sshd', 'Invalid user bob from 10.0.2.2 port 51515')).toMatchObject({
      action: 'ssh_invalid_user',
      user: 'bob',
    });
    expect(
      ev('sshd', 'Connection closed by authenticating user root 10.0.2.2 port 51519 [preauth]'),
    ).toMatchObject({
      action: 'ssh_preauth_disconnect',
      user: 'root',
      sourcePort: 51519,
    });
    expect(
      ev('sshd', 'maximum authentication attempts exceeded for invalid user root from 10.0.2.2 port 5 ssh2'),
    ).toMatchObject({
      action: 'ssh_max_auth_tries',
    });
    expect(
      ev('sshd', 'User deploy from 10.0.2.2 not allowed because not listed in AllowUsers'),
    ).toMatchObject({
      action: 'ssh_user_not_allowed',
      user: 'deploy',
    });
    expect(ev('sshd', 'Disconnected from user lab 10.0.2.2 port 51514')).toMatchObject({
      action: 'ssh_disconnect',
    });
    expect(ev('sshd', 'Server listening on 0.0.0.0 port 22.')).toBeUndefined();
  });

  it('marks as alerts the attempts a host with one way in never sees from its orchestrator', () => {
    const alert = (ident: string, m: string) => ev(ident, m)?.alert;
    expect(
      alert('sshd', 'User hlab-intruder from 127.0.0.1 not allowed because not listed in AllowUsers'),
    ).toBe('hlab-intruder is not allowed to log in (AllowUsers)');
    expect(alert('sshd', 'Invalid user bob from 10.0.2.2 port 51515')).toMatch(
      /"bob", an account that does not exist/,
    );
    expect(alert('sshd', 'Failed password for root from 10.0.2.2 port 51516 ssh2')).toBe(
      'a failed root login over SSH',
    );
    expect(
      alert('sshd', 'maximum authentication attempts exceeded for lab from 10.0.2.2 port 5 ssh2'),
    ).toBeTruthy();
    expect(
      alert(
        'sudo',
        '     bob : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/sh',
      ),
    ).toBe('sudo refused bob');
    // The app's own logins, and a person's ordinary ones, are not alerts.
    expect(
      alert('sshd', `Accepted publickey for lab from 10.0.2.2 port 51514 ssh2: ED25519 ${OPERATOR}`),
    ).toBeUndefined();
    expect(
      alert('sshd', 'Accepted publickey for ann from 10.0.2.2 port 1 ssh2: RSA SHA256:someoneElse'),
    ).toBeUndefined();
    const e = ev('sshd', 'User deploy from 10.0.2.2 not allowed because not listed in AllowUsers')!;
    expect((toEcs(e).hlab as Record<string, unknown>).alert).toBe(e.alert);
  });

  it("marks this app's own sudo command lines as its activity, and never a refused sudo", () => {
    const sudo = (command: string, failed = false) =>
      ev(
        'sudo',
        `     lab : ${failed ? '3 incorrect password attempts ; ' : ''}TTY=unknown ; PWD=/home/lab ; USER=root ; COMMAND=${command}`,
      );
    const mine = [
      '/usr/bin/env bash /tmp/hlab-script-4242-m3k9x1.sh',
      '/usr/bin/env HLAB_STEP=ssh-hardening bash /tmp/hlab-script-4242-m3k9x1.sh',
      // As Debian 12's sudo 1.9.13p3 logged the events reader (recorded from a lab VM).
      `/usr/bin/sh -c 'echo "#hlab-sshd-loglevel $(sshd -T 2>/dev/null | sed -n \\'s/^loglevel //p\\')"; journalctl -o json --no-pager  _COMM=sshd _COMM=sudo _COMM=systemd-logind'`,
      `/usr/bin/sh -c 'journalctl -o json --no-pager --since=@1796477029 _COMM=sshd _COMM=sudo _COMM=systemd-logind'`,
      `/usr/bin/sh -c 'journalctl -o json --no-pager  _COMM=sshd _COMM=sudo _COMM=systemd-logind'`,
      '/usr/bin/true',
      '/usr/bin/date -u -s @1764900000',
      '/usr/sbin/sshd -T -C user=root,host=x,addr=127.0.0.1',
      '/usr/bin/systemd-run --no-block --on-active=1 --unit=hlab-reboot /bin/systemctl reboot',
    ];
    for (const c of mine) expect(sudo(c)?.operator, c).toBe(true);
    const people = [
      '/usr/bin/bash',
      '/usr/bin/env bash /tmp/evil.sh',
      '/usr/bin/env bash /tmp/hlab-script-1-x.sh; rm -rf /',
      '/usr/bin/true --help',
      '/usr/bin/sh -c id',
      `/usr/bin/sh -c 'journalctl -o json --no-pager _COMM=sshd; rm -rf /'`,
    ];
    for (const c of people) expect(sudo(c)?.operator, c).toBeUndefined();
    // A refused sudo is never hidden as the app's, even with the app's command line.
    expect(sudo('/usr/bin/true', true)).toMatchObject({ action: 'sudo_failed' });
    expect(sudo('/usr/bin/true', true)?.operator).toBeUndefined();
  });

  it('sudo (its user name is padded to 8 columns), failures, and logind sessions', () => {
    expect(
      ev('sudo', '    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id'),
    ).toMatchObject({
      action: 'sudo',
      outcome: 'success',
      user: 'alice',
      command: '/usr/bin/id',
    });
    expect(
      ev(
        'sudo',
        'alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id',
      ),
    ).toMatchObject({
      action: 'sudo_failed',
      outcome: 'failure',
    });
    expect(
      ev('sudo', 'pam_unix(sudo:session): session opened for user root(uid=0) by lab(uid=1000)'),
    ).toBeUndefined();
    expect(ev('systemd-logind', 'New session 5 of user lab.')).toMatchObject({
      action: 'session_open',
      user: 'lab',
    });
    expect(ev('systemd-logind', 'Removed session 5.')).toMatchObject({ action: 'session_close' });
  });

  it('hostile or odd records never throw: byte arrays, missing fields, huge numbers', () => {
    expect(ev('sshd', [...Buffer.from('Invalid user \u00e9t\u00e9 from 10.0.2.2 port 1')])?.user).toBe(
      '\u00e9t\u00e9',
    );
    expect(classify({ MESSAGE: 'Accepted publickey for x from 1 port 2 ssh2' }, 'm')).toBeUndefined();
    expect(
      classify(rec('sshd', 'Invalid user a from b port 1', { __REALTIME_TIMESTAMP: 'NaN' }), 'm'),
    ).toBeUndefined();
    expect(
      classify(rec('sshd', 'Invalid user a from b port 1', { MESSAGE: { toString: 1 } }), 'm'),
    ).toBeUndefined();
    // A re-read of the same journal entry gives the same id (receivers can de-duplicate resends).
    const r = rec('sshd', 'Invalid user a from b port 1');
    expect(classify(r, 'm')?.id).toBe(classify(r, 'm')?.id);
  });

  it("trusts journald's own fields, not the identifier a client claims: a forged sshd or sudo line is no event (G1)", () => {
    const accepted = `Accepted publickey for root from 203.0.113.66 port 4444 ssh2: ED25519 ${OPERATOR}`;
    // `logger -t sshd …` by uid 1000: journald records logger's own name, uid and path.
    expect(
      classify(rec('sshd', accepted, { _COMM: 'logger', _UID: '1000', _EXE: '/usr/bin/logger' }), 'lab1'),
    ).toBeUndefined();
    // A copy of a program named sshd, run by an ordinary user.
    expect(classify(rec('sshd', accepted, { _UID: '1000', _EXE: '/home/lab/sshd' }), 'lab1')).toBeUndefined();
    // Named sshd and run as root, but not the system's sshd.
    expect(classify(rec('sshd', accepted, { _EXE: '/tmp/sshd' }), 'lab1')).toBeUndefined();
    expect(
      classify(
        rec('sudo', '    alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/rm -rf /var/log', {
          _COMM: 'systemd-cat',
          _UID: '1000',
        }),
        'lab1',
      ),
    ).toBeUndefined();
    // The real thing (a sender that exited before journald read /proc has no _EXE).
    expect(classify(rec('sshd', accepted, { _EXE: undefined }), 'lab1')?.action).toBe('ssh_login');
    // As Debian 12 records them: a user's sshd child (uid 1000, in ssh.service, often no _EXE)
    // says only that its session ended; sudo logs as the invoking user from /usr/bin/sudo.
    const child = { _UID: '1000', _EXE: undefined, _SYSTEMD_UNIT: 'ssh.service' };
    expect(
      classify(rec('sshd', 'Disconnected from user lab 10.0.2.2 port 53074', child), 'lab1')?.action,
    ).toBe('ssh_disconnect');
    expect(classify(rec('sshd', accepted, child), 'lab1')).toBeUndefined();
    expect(
      classify(
        rec('sshd', 'Disconnected from user lab 10.0.2.2 port 1', {
          ...child,
          _SYSTEMD_UNIT: 'session-3.scope',
        }),
        'lab1',
      ),
    ).toBeUndefined();
    const sudoLine = '     lab : PWD=/home/lab ; USER=root ; COMMAND=/usr/bin/true';
    expect(classify(rec('sudo', sudoLine, { _UID: '1000' }), 'lab1')?.action).toBe('sudo');
    expect(classify(rec('sudo', sudoLine, { _UID: '1000', _EXE: undefined }), 'lab1')).toBeUndefined();
  });

  it('strips control characters from every field, so a journal line cannot rewrite a terminal (G1)', () => {
    const e = ev(
      'sudo',
      '    lab : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/true\u001b[2K\u001b[1G\u001b]52;c;Y3VybA==\u0007\u000b\u009b',
    );
    expect(e?.command).toBe('/bin/true?[2K?[1G?]52;c;Y3VybA==???');
    expect(JSON.stringify(e)).not.toMatch(/\\u00(1b|07|0b|9b)/);
    // eslint-disable-next-line no-control-regex -- the controls that must not reach a SIEM
    expect(toRfc5424(e!)).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it('a timestamp beyond what a date can hold is no event and stops nothing (G3)', () => {
    const huge = rec('sshd', 'Invalid user a from b port 1', {
      __REALTIME_TIMESTAMP: '99999999999999999999',
    });
    expect(() => classify(huge, 'm')).not.toThrow();
    expect(classify(huge, 'm')).toBeUndefined();
    const lines = [huge, rec('sshd', 'Invalid user b from c port 2')]
      .map((r) => JSON.stringify(r))
      .join('\n');
    expect(parseJournal(lines, 'm', new Set()).events.map((e) => e.user)).toEqual(['b']);
  });

  it('ECS and syslog forms carry the classification; a newline in a message cannot start a new record', () => {
    const e = ev('sshd', 'Failed password for root from 10.0.2.2 port 51516 ssh2')!;
    expect(toEcs(e)).toMatchObject({
      '@timestamp': e.time,
      event: {
        kind: 'event',
        category: ['authentication'],
        type: ['start', 'denied'],
        action: 'ssh_login_failed',
        outcome: 'failure',
      },
      user: { name: 'root' },
      source: { ip: '10.0.2.2', port: 51516 },
      host: { hostname: 'lab1' },
      message: e.raw,
    });
    const line = toRfc5424({ ...e, raw: 'evil\n<13>1 - forged - - - - injected' });
    expect(line.split('\n')).toHaveLength(1);
    expect(
      line.startsWith('<85>1 2025-11-24T10:00:00.123456Z lab1 sshd 812 hlab.ssh_login_failed [hlab@32473 '),
    ).toBe(true);
  });
});

describe('spool', () => {
  it('keeps unconfirmed events across instances, skips a torn last line, and starts over when drained', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-spool-'));
    const e = ev('sshd', 'Invalid user a from b port 1')!;
    const s = new Spool(dir);
    s.append([e, { ...e, id: 'two' }, { ...e, id: 'three' }]);
    const first = s.peek(2);
    expect(first.events.map((x) => x.id)).toEqual([e.id, 'two']);
    s.ack(first.end);
    // A crash mid-append leaves half a line: not an event until the line is complete.
    appendFileSync(path.join(dir, 'queue.jsonl'), '{"id":"torn');
    const again = new Spool(dir);
    expect(again.backlog()).toBe(1);
    const rest = again.peek(10);
    expect(rest.events.map((x) => x.id)).toEqual(['three']);
    again.ack(rest.end);
    expect(again.backlog()).toBe(0);
    // The next event after a torn line is whole (the torn line is ended first, then skipped).
    again.append([{ ...e, id: 'four' }]);
    expect(again.peek(10).events.map((x) => x.id)).toEqual(['four']);
    expect(again.backlog()).toBe(1);
  });

  it('bounds the queue for a receiver that stays away, and says how many events did not fit (G4)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-spool-'));
    const e = ev('sshd', 'Invalid user a from b port 1')!;
    const one = Buffer.byteLength(JSON.stringify(e)) + 1;
    const s = new Spool(dir, one * 10);
    s.append(Array.from({ length: 8 }, (_, i) => ({ ...e, id: `${i}`.padStart(e.id.length, 'a') })));
    s.append(Array.from({ length: 5 }, (_, i) => ({ ...e, id: `${i}`.padStart(e.id.length, 'b') })));
    expect(s.backlog()).toBe(10);
    expect(s.dropped()).toBe(3);
    expect(statSync(path.join(dir, 'queue.jsonl')).size).toBeLessThanOrEqual(one * 10);
    s.ack(s.peek(100).end);
    expect(s.dropped()).toBe(0);
  });
});

describe('reading the journal', () => {
  it('resumes one second before the newest event and drops events already seen', async () => {
    const { journalCommand, parseJournal } = await import('../../electron/events/collect.js');
    expect(journalCommand()).toBe(
      'journalctl -o json --no-pager  _COMM=sshd _COMM=sudo _COMM=systemd-logind',
    );
    expect(journalCommand(1763978400123456)).toContain('--since=@1763978399 ');
    const a = rec('sshd', 'Invalid user a from 10.0.2.2 port 1');
    const b = rec('sshd', 'Invalid user b from 10.0.2.2 port 2', {
      __REALTIME_TIMESTAMP: '1763978401000000',
    });
    const text = [
      JSON.stringify(a),
      'not json',
      JSON.stringify(rec('sshd', 'Server listening')),
      JSON.stringify(b),
    ].join('\n');
    const first = parseJournal(text, 'lab1', new Set());
    expect(first.events.map((e) => e.user)).toEqual(['a', 'b']);
    expect(first.sinceMicros).toBe(1763978401000000);
    const second = parseJournal(text, 'lab1', new Set(), new Set([first.events[0]!.id]));
    expect(second.events.map((e) => e.user)).toEqual(['b']);
  });
});
