/**
 * What a class costs in host memory (`npm run bench -- vm`): each QEMU's resident set after a
 * machine from the ready template answers SSH, with 1, 2 and 4 such machines running, and after a
 * workshop's setup; on a host with KSM, how much merging saves for copies of one template. Reported
 * as machines per GiB of host RAM.
 *
 * KSM is a host-wide setting: the bench only reads it, unless --ksm is given (root), and then it
 * puts every value it changed back.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ApiClient } from '../../shared/rpc.js';
import { must, qemuMemory } from '../integration/vm-env.js';

const KSM = '/sys/kernel/mm/ksm';
const PAGE = 4096;
const MIB = 1 << 20;

const ksmRead = (f: string) => {
  try {
    return readFileSync(path.join(KSM, f), 'utf8').trim();
  } catch {
    return undefined;
  }
};

const mib = (b: number) => Math.round(b / MIB);

export async function benchMemory(
  client: ApiClient,
  home: string,
  o: { ksm: boolean; line: (s: string) => void },
): Promise<void> {
  const names: string[] = [];
  const perMachine = new Map<number, number[]>();
  for (const count of [1, 2, 4]) {
    while (names.length < count) {
      const name = `mem${names.length}`;
      await must(client, 'machines.create', { name, memoryMiB: 1024, cpus: 2, ready: true });
      names.push(name);
    }
    // Let the copies settle (the identity agent, journald) before reading.
    await new Promise((r) => setTimeout(r, 5000));
    const mem = names.map((n) => qemuMemory(home, n));
    const pss = mem.map((m) => m.pss);
    perMachine.set(count, pss);
    o.line(
      `memory, ${count} machine(s) from the ready template: ${pss.map(mib).join(', ')} MiB proportional each (resident ${mem.map((m) => mib(m.rss)).join(', ')}), ${mib(pss.reduce((a, b) => a + b, 0))} MiB together`,
    );
  }
  const four = perMachine.get(4) ?? [];
  const sorted = [...four].sort((a, b) => a - b);
  const med = sorted[Math.floor(sorted.length / 2)] ?? NaN;
  o.line(
    `QEMU per machine, proportional (1024 MiB guest, ready copy, 4 running): median ${mib(med)} MiB → ${(1024 / mib(med)).toFixed(1)} machines per GiB of host RAM`,
  );

  const ws = await must(client, 'workshops.start', { workshop: 'ssh-lockdown', trainee: 'bench' });
  const wsMem = qemuMemory(home, ws.progress.machine);
  o.line(
    `after the ssh-lockdown workshop's setup: ${mib(wsMem.pss)} MiB proportional (${mib(wsMem.rss)} MiB resident)`,
  );
  await must(client, 'workshops.end', { machine: ws.progress.machine });

  await ksmSaving(o, names.length, med);
  for (const n of names) await must(client, 'machines.destroy', { name: n });
}

/** With --ksm (root): turn merging on for a minute, read what it shares, put the settings back. */
async function ksmSaving(
  o: { ksm: boolean; line: (s: string) => void },
  copies: number,
  perMachine: number,
): Promise<void> {
  const run = ksmRead('run');
  if (run === undefined) return o.line('KSM: not in this kernel.');
  if (!o.ksm)
    return o.line(
      `KSM: ${run === '1' ? 'on' : 'off'} on this host, not changed (run with --ksm as root to measure what it saves).`,
    );
  const saved = { run, sleep: ksmRead('sleep_millisecs'), scan: ksmRead('pages_to_scan') };
  try {
    writeFileSync(path.join(KSM, 'pages_to_scan'), '5000');
    writeFileSync(path.join(KSM, 'sleep_millisecs'), '20');
    writeFileSync(path.join(KSM, 'run'), '1');
    let last = -1;
    let sharing = 0;
    for (let i = 0; i < 24; i += 1) {
      await new Promise((r) => setTimeout(r, 5000));
      sharing = Number(ksmRead('pages_sharing') ?? 0);
      if (sharing === last) break; // merged all it will
      last = sharing;
    }
    const bytes = sharing * PAGE;
    // pages_sharing is host-wide: other QEMUs running at the same time count in it too.
    const net = perMachine - bytes / copies;
    o.line(
      `KSM: ${mib(bytes)} MiB saved across ${copies} copies of one template (${mib(bytes / copies)} MiB per machine) → ${mib(net)} MiB each, ${(1024 / mib(net)).toFixed(1)} machines per GiB.`,
    );
  } finally {
    if (saved.scan) writeFileSync(path.join(KSM, 'pages_to_scan'), saved.scan);
    if (saved.sleep) writeFileSync(path.join(KSM, 'sleep_millisecs'), saved.sleep);
    writeFileSync(path.join(KSM, 'run'), saved.run);
  }
}
