/**
 * Built-in workshops on the REAL VM, the way a trainee goes through them: start (a machine from
 * the ready snapshot, setup, a snapshot per challenge), every check fails before its solve and
 * passes after, a wrong turn is undone by Reset (a live restore, proven by a change only a reboot
 * or a restore can undo), progress survives an app restart, and the trainer's exports hold it.
 * The workshops that install Docker, Lynis or a new kernel run in the slow tier (test/slow/).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../shared/rpc.js';
import type { Service } from '../../electron/core/service.js';
import { failure, must, newHome, newService, sh } from './vm-env.js';
import { walkWorkshop } from './workshop-walk.js';

let home: string;
let service: Service;
let client: ApiClient;

beforeAll(() => {
  home = newHome('workshops');
  ({ service, client } = newService(home));
});
afterAll(async () => {
  for (const s of (await must(client, 'workshops.list', {})).sessions)
    await client.call('workshops.end', { machine: s.machine });
  void service;
});

const walk = (machine: string) => walkWorkshop(client, machine);

/** Opens a terminal on `machine`, types `line`, and returns what it showed once `want` appeared. */
async function typeInNewTerminal(machine: string, line: string, want: string): Promise<string> {
  let seen = '';
  let id = '';
  const off = client.on('terminal.data', (e) => {
    if (e.id === id) seen += e.data;
  });
  try {
    ({ id } = await must(client, 'terminal.open', { machine, cols: 80, rows: 24 }));
    await must(client, 'terminal.input', { id, data: `${line}\n` });
    const until = Date.now() + 30_000;
    while (!seen.includes(want) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    return seen;
  } finally {
    off();
    if (id) await client.call('terminal.close', { id });
  }
}

describe('workshops on the real VM', { timeout: 900_000 }, () => {
  it('ssh-lockdown: checks fail before and pass after each solve; a lock-out is undone by Reset', async () => {
    const m = 'ws-ssh';
    const st = await must(client, 'workshops.start', {
      workshop: 'ssh-lockdown',
      trainee: 'ana',
      machine: m,
    });
    expect(st.current?.id).toBe('keys-only');
    expect(st.current?.page).toMatch(/first value wins/);
    // The setup ends with `systemctl reload ssh`. Its snapshot is taken only after a fresh login
    // proved the re-executed sshd listens; a snapshot taken mid-restart made every Reset to it
    // meet refused connections first (3-4 attempts, ~0.14 s here, session 21).
    const attempts: string[] = [];
    const first = await client.call(
      'workshops.reset',
      { machine: m },
      { onProgress: (p) => p.description.startsWith('waiting for SSH') && attempts.push(p.description) },
    );
    expect(first.ok).toBe(true);
    expect(attempts).toHaveLength(1);
    // Fresh identity on a machine started from the ready snapshot.
    expect(await sh(client, m, 'hostname')).toBe(m);
    const hint = await must(client, 'workshops.hint', { machine: m });
    expect(hint.current?.hints).toHaveLength(1);
    // Solve the first two, then take the wrong turn in the third.
    for (let i = 0; i < 2; i += 1)
      expect((await must(client, 'workshops.solve', { machine: m })).pass).toBe(true);
    await sh(
      client,
      m,
      "echo 'AllowUsers deploy' | sudo -n tee -a /etc/ssh/sshd_config.d/00-hardening.conf >/dev/null && sudo -n systemctl reload ssh",
    );
    const locked = await must(client, 'workshops.check', { machine: m });
    expect(locked.pass).toBe(false);
    expect(locked.failures.join('\n')).toMatch(/locked yourself out/);
    const reset = await must(client, 'workshops.reset', { machine: m });
    expect(reset.progress.challenges[2]).toMatchObject({ resets: 1, status: 'current' });
    // The login the Reset proved waits for the next terminal, which takes it: no second handshake.
    expect(service.context.handover.size).toBe(1);
    expect(await typeInNewTerminal(m, 'echo handed-$((6*7))', 'handed-42')).toContain('handed-42');
    expect(service.context.handover.size).toBe(0);
    expect(await sh(client, m, 'cat /etc/ssh/sshd_config.d/00-hardening.conf')).not.toMatch(/AllowUsers/);
    await walk(m);
    const done = await must(client, 'workshops.status', { machine: m });
    expect(done.progress.finishedAt).toBeTruthy();
    expect(done.progress.challenges.map((c) => c.status)).toEqual(['passed', 'passed', 'passed']);
  });

  it('module-pruning: Reset undoes what only a reboot could (kernel.modules_disabled)', async () => {
    const m = 'ws-mod';
    await must(client, 'workshops.start', { workshop: 'module-pruning', trainee: 'ben', machine: m });
    for (let i = 0; i < 2; i += 1) {
      expect((await must(client, 'workshops.check', { machine: m })).pass).toBe(false);
      expect((await must(client, 'workshops.solve', { machine: m })).pass).toBe(true);
    }
    // The wrong order: loading closed before overlay is in. Nothing but a reboot or a restore reopens it.
    await sh(client, m, 'sudo -n sysctl -qw kernel.modules_disabled=1');
    const wrong = await must(client, 'workshops.check', { machine: m });
    expect(wrong.failures.join('\n')).toMatch(/overlay is not loaded/);
    expect(await sh(client, m, 'sudo -n modprobe overlay 2>&1 || echo refused')).toMatch(/refused/);
    await must(client, 'workshops.reset', { machine: m });
    expect(await sh(client, m, 'cat /proc/sys/kernel/modules_disabled')).toBe('0');
    await walk(m);
    expect((await must(client, 'workshops.status', { machine: m })).progress.finishedAt).toBeTruthy();
  });

  it('machines started from the same ready template have their own identity', async () => {
    const id = async (m: string) =>
      sh(
        client,
        m,
        'hostname; cat /etc/machine-id; sudo -n ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d" " -f2',
      );
    const [a, b] = [await id('ws-ssh'), await id('ws-mod')];
    const [ha, ma, ka] = a.split('\n');
    const [hb, mb, kb] = b.split('\n');
    expect([ha, hb]).toEqual(['ws-ssh', 'ws-mod']);
    expect(ma).not.toBe(mb);
    expect(ka).not.toBe(kb);
    // Each journal is written under the copy's own machine-id, so journalctl (and the Events view)
    // sees this machine's logins, the app's own included.
    expect(
      await sh(
        client,
        'ws-ssh',
        'sudo -n journalctl -q --no-pager -t sshd | grep -c "Accepted publickey for" || true',
      ),
    ).not.toBe('0');
    // The app pinned each machine's own host key before its first login (no trust on first use).
    const pins = JSON.parse(readFileSync(path.join(home, 'known_hosts.json'), 'utf8')) as Record<
      string,
      string
    >;
    expect(pins['ws-ssh']).toBe(ka);
    expect(pins['ws-mod']).toBe(kb);
    // The template's key is gone and the template's state cannot be restored.
    expect(await sh(client, 'ws-ssh', 'wc -l < ~/.ssh/authorized_keys')).toBe('1');
    expect((await must(client, 'snapshots.list', { machine: 'ws-ssh' })).map((x) => x.name)).not.toContain(
      'ready',
    );
  });

  it('progress survives an app restart, and the trainer exports and merges it', async () => {
    const again = newService(home).client;
    const list = await must(again, 'workshops.list', {});
    expect(list.sessions.map((s) => [s.machine, s.trainee, s.current]).sort()).toEqual([
      ['ws-mod', 'ben', 3],
      ['ws-ssh', 'ana', 3],
    ]);
    const ana = await must(again, 'workshops.export', { machine: 'ws-ssh', format: 'json' });
    const ben = await must(again, 'workshops.export', { machine: 'ws-mod', format: 'json' });
    const html = await must(again, 'workshops.export', { machine: 'ws-ssh', format: 'html' });
    expect(html.content).toMatch(/3 of 3 challenges passed/);
    const table = await must(again, 'workshops.class', {
      exports: [
        { name: ana.filename, text: ana.content },
        { name: ben.filename, text: ben.content },
      ],
    });
    expect(table.rows.map((r) => [r.workshop, r.trainee, `${r.passed}/${r.total}`])).toEqual([
      ['module-pruning', 'ben', '3/3'],
      ['ssh-lockdown', 'ana', '3/3'],
    ]);
    expect(table.rows.find((r) => r.trainee === 'ana')).toMatchObject({ resets: 2, hints: 1 });
    // Starting the same workshop on the same machine resumes; another workshop there is refused.
    expect(
      (await must(again, 'workshops.start', { workshop: 'ssh-lockdown', machine: 'ws-ssh' })).progress
        .trainee,
    ).toBe('ana');
    expect(
      (await failure(again, 'workshops.start', { workshop: 'module-pruning', machine: 'ws-ssh' })).code,
    ).toBe('conflict');
  });
});
