/** The SSH layer against a real OpenSSH sshd on 127.0.0.1 (ssh2, pure-JS path is enough). */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HlabError } from '../../shared/errors.js';
import { SshExecutor } from '../../electron/ssh/executor.js';
import { ensureKeyPair } from '../../electron/ssh/keys.js';
import { KnownHosts } from '../../electron/ssh/known-hosts.js';
import { connect, connectThroughReload, RELOAD_GAP_MS, waitForSsh } from '../../electron/ssh/session.js';
import { HIGH_WATER, CHUNK_CHARS, TerminalSession } from '../../electron/ssh/terminal.js';
import { startSshd, type Sshd } from './sshd.js';
import { newHome } from './vm-env.js';

let sshd: Sshd;
let home: string;
let known: KnownHosts;
let ex: SshExecutor;

beforeAll(async () => {
  sshd = await startSshd();
  home = newHome('ssh');
  known = new KnownHosts(path.join(home, 'known_hosts.json'));
  ex = new SshExecutor(async () => sshd.target, known);
});
afterAll(async () => {
  ex?.reset();
  await sshd?.stop();
});

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as HlabError).code;
  }
};

describe('executor', () => {
  it('passes exit codes and keeps stdout and stderr apart, streaming both', async () => {
    const chunks: string[] = [];
    const r = await ex.exec('echo out; echo err >&2; exit 3', { onStdout: (s) => chunks.push(s) });
    expect(r).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    expect(chunks.join('')).toBe('out\n');
  });

  it('run() turns a failure into command-failed with the exit code and the last lines', async () => {
    await expect(ex.run('echo line1; echo boom >&2; exit 4')).rejects.toMatchObject({
      code: 'command-failed',
      details: { exitCode: 4, stderr: 'boom\n', machine: 'local-sshd' },
    });
  });

  it('times out and cancels long commands', async () => {
    const t = Date.now();
    expect(await codeOf(ex.exec('sleep 30', { timeoutMs: 500 }))).toBe('timeout');
    const c = new AbortController();
    setTimeout(() => c.abort(), 300);
    expect(await codeOf(ex.exec('sleep 30', { signal: c.signal }))).toBe('cancelled');
    expect(Date.now() - t).toBeLessThan(10_000);
  });

  it('keeps a bounded tail of what a command prints, and ends one that floods past the hard limit (X1)', async () => {
    // 20 MiB: the first 4 MiB are dropped from the kept 16 MiB tail, with the count said plainly.
    const r = await ex.exec('head -c 20971520 /dev/zero | tr "\\0" a; echo END');
    expect(r.exitCode).toBe(0);
    expect(r.truncated).toEqual({ stdoutBytes: 20971520 + 4 - (16 << 20), stderrBytes: 0 });
    expect(
      r.stdout.startsWith(`[output truncated: the first ${r.truncated!.stdoutBytes} bytes were dropped]\n`),
    ).toBe(true);
    expect(r.stdout.endsWith('aaaaEND\n')).toBe(true);
    // A guest that never stops (a replaced shell, ForceCommand): ended at 64 MiB with a clear error,
    // and this process's memory grows by a bounded amount instead of up to V8's string limit.
    global.gc?.();
    const before = process.memoryUsage().rss;
    let streamed = 0;
    const err = await ex.exec('yes', { onStdout: (s) => (streamed += s.length) }).catch((e: HlabError) => e);
    expect(err).toBeInstanceOf(HlabError);
    expect((err as HlabError).message).toMatch(/^"yes" printed more than 64 MiB and was ended/);
    expect(streamed).toBeGreaterThan(64 << 20);
    const grew = (process.memoryUsage().rss - before) / 2 ** 20;
    console.log(`X1: rss grew ${grew.toFixed(0)} MiB for a 64 MiB flood`);
    expect(grew).toBeLessThan(300);
    // The connection is still usable.
    expect((await ex.exec('echo still-here')).stdout).toBe('still-here\n');
  });

  it('runs as root through sudo and runs large scripts uploaded over SFTP', async () => {
    expect((await ex.sudo('id -u')).stdout.trim()).toBe('0');
    // ~3 MB: far beyond what a command line can carry.
    const filler = `# ${'x'.repeat(1000)}\n`.repeat(3000);
    const r = await ex.runScript(`${filler}echo "uid=$(id -u) greeting=$GREETING"\n`, {
      env: { GREETING: "it's fine" },
    });
    expect(r.stdout.trim()).toBe("uid=0 greeting=it's fine");
    expect((await ex.exec('ls /tmp/hlab-script-* 2>/dev/null | wc -l')).stdout.trim()).toBe('0');
  });

  it('round-trips files over SFTP (write/read, copyIn/copyOut)', async () => {
    const data = randomBytes(1024 * 1024);
    await ex.writeFile(path.join(sshd.dir, 'blob.bin'), data, 0o600);
    expect((await ex.readFile(path.join(sshd.dir, 'blob.bin'))).equals(data)).toBe(true);
    const local = path.join(home, 'in.bin');
    writeFileSync(local, data);
    await ex.copyIn(local, path.join(sshd.dir, 'copied.bin'));
    await ex.copyOut(path.join(sshd.dir, 'copied.bin'), path.join(home, 'out.bin'));
    expect(readFileSync(path.join(home, 'out.bin')).equals(data)).toBe(true);
    expect(await codeOf(ex.readFile('/nonexistent/file'))).toBe('not-found');
  });

  it('reconnects transparently after the server restarts', async () => {
    const before = (await ex.exec('echo $SSH_CLIENT')).stdout.trim();
    await sshd.stop();
    await sshd.start();
    const after = (await ex.exec('echo $SSH_CLIENT')).stdout.trim();
    expect(after).not.toBe('');
    expect(after.split(' ')[1]).not.toBe(before.split(' ')[1]); // a new TCP connection
  });

  it('waits for SSH to come back, and times out clearly when it does not', async () => {
    await sshd.stop();
    let starting = Number.POSITIVE_INFINITY;
    setTimeout(() => {
      starting = performance.now();
      void sshd.start();
    }, 1500);
    const attempts: number[] = [];
    await waitForSsh(sshd.target, known, {
      timeoutMs: 20_000,
      onAttempt: () => attempts.push(performance.now()),
    });
    // Attempts refused while sshd was down, each told; the one that answered began after its start.
    expect(attempts.filter((a) => a < starting).length).toBeGreaterThan(2);
    expect(attempts.at(-1)!).toBeGreaterThanOrEqual(starting);
    await sshd.stop();
    const err = await waitForSsh(sshd.target, known, { timeoutMs: 1500 }).catch((e: HlabError) => e);
    expect(err).toMatchObject({ code: 'ssh-timeout' });
    expect((err as HlabError).message).toContain('local-sshd');
    await sshd.start();
  });

  it('stops waiting once sshd keeps refusing the key (a lock-out), and a timeout names the last error', async () => {
    const stranger = ensureKeyPair(path.join(home, 'stranger'), 'stranger');
    const target = { ...sshd.target, privateKey: stranger.privateKey };
    const locked = (await waitForSsh(target, known, { timeoutMs: 60_000, authRefusedGraceMs: 1000 }).catch(
      (e: HlabError) => e,
    )) as HlabError;
    expect(locked.code).toBe('ssh-auth');
    expect(locked.message).toMatch(
      /answers but refused the key login for \d+ s: the machine locks the app out/,
    );
    const slow = (await waitForSsh(target, known, { timeoutMs: 1500 }).catch(
      (e: HlabError) => e,
    )) as HlabError;
    expect(slow.code).toBe('ssh-timeout');
    expect(slow.message).toContain('(last: SSH key login refused for');
  });
});

describe('trust', () => {
  it('pins the host key on first use and refuses a changed one, naming machine and both fingerprints', async () => {
    const k = new KnownHosts(path.join(home, 'pins.json'));
    (await connect(sshd.target, k)).end();
    const pinned = (JSON.parse(readFileSync(path.join(home, 'pins.json'), 'utf8')) as Record<string, string>)[
      'local-sshd'
    ];
    expect(pinned).toMatch(/^SHA256:/);
    await sshd.stop();
    sshd.rotateHostKey();
    await sshd.start();
    const err = (await connect(sshd.target, k).catch((e: HlabError) => e)) as HlabError;
    expect(err.code).toBe('host-key-changed');
    expect(err.message).toContain('"local-sshd"');
    expect(err.message).toContain(pinned);
    expect(err.details?.presented).toMatch(/^SHA256:/);
    expect(err.details?.presented).not.toBe(pinned);
    k.forget('local-sshd');
    (await connect(sshd.target, k)).end();
    // The executor's own store pinned the old key too: reset it for the tests below.
    known.forget('local-sshd');
  });

  it('reports a refused key as ssh-auth naming the machine, without leaking the key', async () => {
    const other = ensureKeyPair(path.join(home, 'other-keys'), 'x');
    const err = (await connect({ ...sshd.target, privateKey: other.privateKey }, known).catch(
      (e: HlabError) => e,
    )) as HlabError;
    expect(err.code).toBe('ssh-auth');
    expect(err.message).toContain('local-sshd');
    expect(JSON.stringify(err)).not.toContain('PRIVATE KEY');
  });

  it('reports a closed port as ssh-refused', async () => {
    const err = (await connect({ ...sshd.target, port: 1 }, known).catch((e: HlabError) => e)) as HlabError;
    expect(err.code).toBe('ssh-refused');
  });

  /**
   * sshd's reload, as QEMU's port forward shows it: the connection is accepted and then reset
   * before sshd's greeting. A proxy resets the first three connections, then forwards to sshd.
   */
  it('rides over connections reset before the greeting (sshd reloading), and nothing else', async () => {
    let resets = 3;
    const proxy = net.createServer((inbound) => {
      if (resets > 0) {
        resets -= 1;
        inbound.resetAndDestroy();
        return;
      }
      const out = net.connect(sshd.target.port, '127.0.0.1');
      inbound.pipe(out).pipe(inbound);
      out.on('error', () => inbound.destroy());
      inbound.on('error', () => out.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const target = { ...sshd.target, port: (proxy.address() as net.AddressInfo).port };
    try {
      const plain = (await connect(target, known).catch((e: HlabError) => e)) as HlabError;
      expect(plain.details).toMatchObject({ beforeHandshake: true });
      const c = await connectThroughReload(target, known);
      expect(resets).toBe(0);
      c.end();
      // A refused key is final: no retry turns a lock-out into a wait.
      const wrongKey = { ...target, privateKey: ensureKeyPair(path.join(home, 'other'), 'other').privateKey };
      const t = Date.now();
      expect(await codeOf(connectThroughReload(wrongKey, known))).toBe('ssh-auth');
      expect(Date.now() - t).toBeLessThan(RELOAD_GAP_MS);
    } finally {
      proxy.close();
    }
  });
});

describe('terminal session', () => {
  it('runs an interactive shell with a pty', async () => {
    let out = '';
    const s = await TerminalSession.open(
      sshd.target,
      known,
      { cols: 100, rows: 30 },
      { data: (d) => (out += d), exit: () => undefined },
    );
    s.write('stty size; echo hello-$((6*7))\n');
    const until = Date.now() + 10_000;
    while (!out.includes('hello-42') && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain('30 100');
    expect(out).toContain('hello-42');
    s.close();
  });

  it('pauses the source past the high-water mark until the renderer acknowledges', async () => {
    let received = 0;
    const s = await TerminalSession.open(
      sshd.target,
      known,
      { cols: 80, rows: 24 },
      { data: (d) => (received += d.length), exit: () => undefined },
    );
    s.write("head -c 4000000 /dev/zero | tr '\\0' a; echo; echo END-OF-FLOOD\n");
    await new Promise((r) => setTimeout(r, 1500));
    const stalled = received;
    expect(s.unacknowledged).toBeGreaterThan(HIGH_WATER);
    // Bounded: at most a chunk plus what was already in flight beyond the mark.
    expect(stalled).toBeLessThan(HIGH_WATER + 4 * CHUNK_CHARS + 256 * 1024);
    await new Promise((r) => setTimeout(r, 500));
    expect(received).toBe(stalled);
    // Acknowledge as xterm would: everything flows again.
    const until = Date.now() + 20_000;
    while (received < 4_000_000 && Date.now() < until) {
      s.ack(s.unacknowledged);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(received).toBeGreaterThan(4_000_000);
    s.close();
  });
});
