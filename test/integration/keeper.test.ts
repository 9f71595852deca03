/**
 * The kept connection behind `hlab exec`, against a real OpenSSH sshd on 127.0.0.1: commands run
 * over one connection (the same client port each time), exit codes and signals pass through,
 * output streams as it comes, a dropped server makes the caller connect anew, and hostile bytes
 * on the socket never end the keeper.
 */
import { statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropKept, execKept, keeperSocket, serveKeeper } from '../../electron/ssh/keeper.js';
import { execFast } from '../../electron/host/exec-fast.js';
import { Machines } from '../../electron/machines/machines.js';
import type { Provider } from '../../electron/providers/provider.js';
import { KnownHosts } from '../../electron/ssh/known-hosts.js';
import { connect } from '../../electron/ssh/session.js';
import { startSshd, type Sshd } from './sshd.js';
import { newHome } from './vm-env.js';

let sshd: Sshd;
let home: string;
let known: KnownHosts;

beforeAll(async () => {
  sshd = await startSshd();
  home = newHome('keeper');
  known = new KnownHosts(path.join(home, 'known_hosts.json'));
});
afterAll(async () => {
  await sshd?.stop();
});

function keep(name: string, idleMs = 30_000) {
  const sock = keeperSocket(home, name);
  const ended = serveKeeper({
    sock,
    open: () => connect(sshd.target, known, { keepalive: { intervalMs: 500, countMax: 2 } }),
    idleMs,
  });
  return { sock, ended };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const exists = (p: string) => {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
};

describe('kept connection', () => {
  it('runs commands over one connection, passing exit codes, signals and streamed output through', async () => {
    const k = keep('m1');
    await until(() => exists(k.sock));
    expect(statSync(k.sock).mode & 0o777).toBe(0o600);
    const port = async () => (await execKept(k.sock, 'echo $SSH_CONNECTION'))!.stdout.split(' ')[1];
    const first = await port();
    expect(first).toMatch(/^\d+$/);
    expect(await port()).toBe(first);
    const r = await execKept(k.sock, 'echo out; echo err >&2; exit 7');
    expect(r).toMatchObject({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' });
    expect((await execKept(k.sock, 'kill -TERM $$'))!.exitCode).toBe(128 + 15);
    const chunks: string[] = [];
    await execKept(k.sock, 'printf a; sleep 0.3; printf b', { onStdout: (d) => chunks.push(d) });
    expect(chunks).toEqual(['a', 'b']);
    // Several at once share the connection.
    const many = await Promise.all([1, 2, 3].map((n) => execKept(k.sock, `echo ${n}`)));
    expect(many.map((x) => x!.stdout)).toEqual(['1\n', '2\n', '3\n']);
    await expect(execKept(k.sock, 'sleep 5', { timeoutMs: 200 })).rejects.toMatchObject({ code: 'timeout' });
    await dropKept(k.sock);
    await k.ended;
    expect(exists(k.sock)).toBe(false);
    // No keeper: the caller is told to connect itself.
    expect(await execKept(k.sock, 'true')).toBeUndefined();
  });

  it("the CLI's fast path runs `hlab exec NAME -- CMD` through the keeper and leaves the rest to the full CLI", async () => {
    const k = keep('fast1');
    await until(() => exists(k.sock));
    const env = { HLAB_HOME: home };
    const out: string[] = [];
    const io = { write: (stream: 'stdout' | 'stderr', text: string) => out.push(`${stream}:${text}`) };
    expect(await execFast(['exec', 'fast1', '--', 'echo out; echo err >&2; exit 3'], env, io)).toBe(3);
    expect(out).toEqual(['stdout:out\n', 'stderr:err\n']);
    // Several words are each kept whole, as the full CLI does.
    out.length = 0;
    expect(await execFast(['exec', 'fast1', '--', 'printf', '%s|', 'a b', "it's"], env, io)).toBe(0);
    expect(out).toEqual(["stdout:a b|it's|"]);
    // Anything else is not its business: flags, no keeper, keeping turned off, a bad name.
    for (const [argv, e] of [
      [['exec', 'fast1', '--fresh', '--', 'true'], env],
      [['exec', 'nokeeper', '--', 'true'], env],
      [['exec', 'fast1', '--', 'true'], { ...env, HLAB_KEEP_CONNECTIONS: '0' }],
      [['exec', '../x', '--', 'true'], env],
      [['machine', 'list'], env],
    ] as const)
      expect(await execFast([...argv], e, io)).toBeUndefined();
    await dropKept(k.sock);
    await k.ended;
  });

  it('survives hostile bytes on its socket, and ends when idle', async () => {
    const k = keep('m2', 1500);
    await until(() => exists(k.sock));
    for (const junk of [
      'not json\n',
      '{"command": 5}\n',
      'x'.repeat(2 << 20),
      '\u0000\u00ff\n',
      '{"quit":"yes"}\n',
    ]) {
      await new Promise<void>((resolve) => {
        const c = net.connect(k.sock, () => c.write(junk));
        c.on('data', () => undefined);
        c.on('close', () => resolve());
        c.on('error', () => resolve());
        setTimeout(() => c.destroy(), 500);
      });
    }
    expect((await execKept(k.sock, 'echo still'))!.stdout).toBe('still\n');
    await k.ended; // idle for 1.5 s
    expect(exists(k.sock)).toBe(false);
  });

  it('lets go when the server goes away; the next call connects anew', async () => {
    const k = keep('m3');
    await until(() => exists(k.sock));
    expect((await execKept(k.sock, 'true'))!.exitCode).toBe(0);
    await sshd.stop();
    try {
      // The keepalive notices within ~1 s; a call in between is answered "connect yourself".
      const r = await execKept(k.sock, 'true');
      expect(r).toBeUndefined();
      await k.ended;
      expect(exists(k.sock)).toBe(false);
    } finally {
      await sshd.start();
    }
  });

  it('every restore through the machines layer lets the kept connection go first (K1)', async () => {
    const k = keep('m5');
    await until(() => exists(k.sock));
    expect((await execKept(k.sock, 'true'))!.exitCode).toBe(0);
    const order: string[] = [];
    // A provider that only records: the engine's rollback, recovery and a workshop Reset all
    // restore through Machines.restore, so this is the one place that must drop the connection.
    const provider = {
      kind: 'qemu',
      capabilities: { restoreNeedsPowerOff: false, clockDrift: false },
      has: (n: string) => n === 'm5',
      get: async () => ({ name: 'm5', state: 'stopped' }),
      snapshots: {
        restore: async () => {
          order.push(exists(k.sock) ? 'restore while kept' : 'restore after drop');
          return { name: 's1', live: true, createdAt: '' };
        },
      },
    } as unknown as Provider;
    const machines = new Machines({
      providers: [provider],
      keysDir: path.join(home, 'keys'),
      knownHosts: known,
      keeperSocket: (n) => keeperSocket(home, n),
    });
    await machines.restore('m5', 's1', { timeoutMs: 5_000 });
    await k.ended;
    expect(order).toEqual(['restore after drop']);
  });

  it('a second keeper for the same machine leaves the first one serving', async () => {
    const a = keep('m4');
    await until(() => exists(a.sock));
    await keep('m4').ended; // returns at once: someone already answers there
    expect((await execKept(a.sock, 'echo one'))!.stdout).toBe('one\n');
    await dropKept(a.sock);
    await a.ended;
  });
});
