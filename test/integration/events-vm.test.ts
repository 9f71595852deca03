/**
 * Login events from a REAL VM to real receivers: a failed password, an invalid user, a failed key
 * and a successful login are made against the guest's sshd, read back from its journal over the
 * machine's SSH session, classified (the app's own login recognised by its key), and forwarded to
 * Debian's rsyslogd and to the HEC receiver on 127.0.0.1.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, utils } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../shared/rpc.js';
import type { Service } from '../../electron/core/service.js';
import { collectEvents, keyFingerprint } from '../../electron/events/collect.js';
import { SshExecutor } from '../../electron/ssh/executor.js';
import type { SshTarget } from '../../electron/ssh/session.js';
import { startHec } from './hec-receiver.js';
import { freePort, Rsyslog } from './rsyslog-receiver.js';
import { must, newHome, newService } from './vm-env.js';

const M = 'events1';
let service: Service;
let client: ApiClient;
let ex: SshExecutor;
let target: SshTarget;

/** One login attempt with our own client; resolves whether it got in. */
let lastError = '';
function attempt(
  t: SshTarget,
  auth: { username: string; password?: string; privateKey?: string },
): Promise<boolean> {
  return new Promise((resolve) => {
    const c = new Client();
    c.on('ready', () => {
      c.end();
      resolve(true);
    });
    c.on('error', (err) => {
      lastError += `${auth.username}/${auth.password ? 'password' : 'key'}: ${err.message}; `;
      resolve(false);
    });
    c.connect({
      host: t.host,
      port: t.port,
      ...auth,
      tryKeyboard: false,
      hostVerifier: () => true,
      readyTimeout: 30_000,
    });
  });
}

beforeAll(async () => {
  ({ service, client } = newService(newHome('events')));
  await must(client, 'machines.create', { name: M, memoryMiB: 1024, cpus: 2 });
  await must(client, 'machines.up', { name: M });
  ex = new SshExecutor(() => service.context.machines.targetOf(M), service.context.knownHosts);
  target = await service.context.machines.targetOf(M);
}, 300_000);
afterAll(async () => {
  ex?.reset();
  if (client) await client.call('machines.destroy', { name: M });
});

describe('login events from the VM to a SIEM', { timeout: 300_000 }, () => {
  it('a line an ordinary guest user forges (logger -t sshd, a copy named sshd) is no event; real sudo still is (G1)', async () => {
    const operators = new Set([keyFingerprint(target.privateKey) as string]);
    const before = await collectEvents(ex, M, { operators });
    // As the lab user, no sudo: the journal takes these lines with SYSLOG_IDENTIFIER=sshd or sudo.
    const forge = await ex.exec(
      [
        "logger -t sshd 'Accepted publickey for root from 203.0.113.66 port 4444 ssh2: ED25519 SHA256:forgedAAAA'",
        "logger -t sudo '    root : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/forged-by-logger'",
        'cp /usr/bin/logger /tmp/sshd',
        "/tmp/sshd -t sshd 'Accepted publickey for root from 203.0.113.77 port 4445 ssh2: ED25519 SHA256:forgedBBBB'",
        'id -u',
      ].join(' && '),
    );
    expect(forge.stdout.trim(), forge.stderr).not.toBe('0');
    // A real sudo by the same user, which must still count.
    expect((await ex.exec('sudo -n /usr/bin/true')).exitCode).toBe(0);
    // And one of the app's step scripts, which is the app's activity (ux review I-7).
    expect((await ex.runScript('true')).exitCode).toBe(0);
    // The forged lines are in the journal, under the names they claim.
    const raw = await ex.run('journalctl -o json --no-pager SYSLOG_IDENTIFIER=sshd SYSLOG_IDENTIFIER=sudo', {
      asRoot: true,
    });
    expect(raw.stdout).toContain('203.0.113.66');
    expect(raw.stdout).toContain('forged-by-logger');
    const got = await collectEvents(ex, M, {
      operators,
      seen: new Set(before.events.map((e) => e.id)),
      ...(before.sinceMicros ? { sinceMicros: before.sinceMicros } : {}),
    });
    const text = JSON.stringify(got.events);
    expect(text).not.toContain('203.0.113.');
    expect(text).not.toContain('forged');
    const sudo = got.events.find((e) => e.action === 'sudo' && e.command === '/usr/bin/true');
    expect(sudo, JSON.stringify(got.events.map((e) => e.raw))).toMatchObject({
      user: target.user,
      process: 'sudo',
    });
    // The app's own sudo lines, as Debian's sudo logged them: its script and the reader before.
    const own = got.events.filter((e) => e.action === 'sudo' && e.operator === true).map((e) => e.command);
    expect(
      own.some((c) => /^\/usr\/bin\/env bash \/tmp\/hlab-script-\d+-\w+\.sh$/.test(c ?? '')),
      own.join('\n'),
    ).toBe(true);
    expect(
      own.some((c) => c?.includes('#hlab-sshd-loglevel')),
      own.join('\n'),
    ).toBe(true);
  });

  it('classifies what sshd logged and delivers it to rsyslogd and HEC', async () => {
    const operators = new Set([keyFingerprint(target.privateKey) as string]);
    const start = await collectEvents(ex, M, { operators });
    // Debian's default: failed key attempts would not be logged at all.
    expect(start.sshdLogLevel).toBe('INFO');
    const r = await ex.run(
      "echo 'LogLevel VERBOSE' > /etc/ssh/sshd_config.d/00-test-loglevel.conf && sshd -t && systemctl reload ssh",
      { asRoot: true },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    // sshd re-executes on reload; until it listens again QEMU's forward resets new connections.
    const ready = Date.now() + 60_000;
    while (!(await attempt(target, { username: target.user, privateKey: target.privateKey }))) {
      if (Date.now() > ready) throw new Error(`sshd did not come back after the reload: ${lastError}`);
      await new Promise((res) => setTimeout(res, 500));
    }
    lastError = '';

    const stranger = utils.generateKeyPairSync('ed25519');
    expect(await attempt(target, { username: target.user, password: 'not-the-password' })).toBe(false);
    expect(await attempt(target, { username: 'bob', password: 'guess' })).toBe(false);
    expect(await attempt(target, { username: target.user, privateKey: stranger.private })).toBe(false);
    expect(await attempt(target, { username: target.user, privateKey: target.privateKey }), lastError).toBe(
      true,
    );

    // Through the API, as the CLI and the UI do: destinations first, then one collect forwards.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-events-vm-'));
    const port = await freePort();
    const rs = new Rsyslog(path.join(dir, 'rsyslog'), port);
    await rs.start();
    const hec = await startHec('events-vm-token');
    try {
      await must(client, 'events.forward.add', { kind: 'syslog', target: `127.0.0.1:${port}` });
      const h = await must(client, 'events.forward.add', {
        kind: 'hec',
        target: `http://127.0.0.1:${hec.port}`,
        token: 'events-vm-token',
      });
      expect(h).toMatchObject({ kind: 'hec', hasToken: true });
      expect(JSON.stringify(await must(client, 'events.destinations', {}))).not.toContain('events-vm-token');
      const got = await must(client, 'events.collect', { machine: M });
      expect(got.sshdLogLevel).toBe('VERBOSE');
      const find = (pred: (e: (typeof got.events)[number]) => boolean) => got.events.find(pred);
      const failedPassword = find(
        (e) => e.action === 'ssh_login_failed' && e.method === 'password' && e.user === target.user,
      );
      const invalid = find((e) => e.action === 'ssh_invalid_user' && e.user === 'bob');
      const failedKey = find((e) => e.action === 'ssh_login_failed' && e.method === 'publickey');
      const ok = find((e) => e.action === 'ssh_login' && e.operator === true);
      expect(
        { failedPassword: !!failedPassword, invalid: !!invalid, failedKey: !!failedKey, ok: !!ok },
        JSON.stringify(
          got.events.map((e) => e.raw),
          null,
          1,
        ),
      ).toEqual({ failedPassword: true, invalid: true, failedKey: true, ok: true });
      expect(failedKey?.operator).toBe(false);
      expect(failedKey?.keyFingerprint).toMatch(/^SHA256:/);
      expect(ok).toMatchObject({ sourceIp: '10.0.2.2', hostname: expect.any(String) });
      expect(got.forward.map((f) => f.backlog)).toEqual([0, 0]);
      // The next collect returns nothing already seen; the kept list has everything.
      const again = await must(client, 'events.collect', { machine: M });
      expect(again.events.filter((e) => got.events.some((g) => g.id === e.id))).toEqual([]);
      const kept = await must(client, 'events.list', { machine: M });
      for (const e of got.events) expect(kept.events.map((k) => k.id)).toContain(e.id);

      const wanted = [failedPassword!, invalid!, failedKey!, ok!];
      const until = Date.now() + 10_000;
      while (rs.received().length < got.events.length && Date.now() < until)
        await new Promise((res) => setTimeout(res, 50));
      const syslogIds = rs.received().map((x) => /id="([0-9a-f]+)"/.exec(x.sd)?.[1]);
      const hecIds = hec.received.map((x) => (x.event as { event: { id: string } }).event.id);
      for (const e of wanted) {
        expect(syslogIds).toContain(e.id);
        expect(hecIds).toContain(e.id);
      }
      const failedInSyslog = rs.received().find((x) => x.sd.includes(`id="${invalid!.id}"`));
      expect(failedInSyslog).toMatchObject({ app: 'sshd', msgid: 'hlab.ssh_invalid_user', pri: '85' });
    } finally {
      await rs.stop();
      await hec.close();
    }
  });
});
