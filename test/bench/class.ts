/**
 * `npm run bench -- class [--seats N] [--load SECONDS]`: a class of N seats of ssh-lockdown
 * through the real class server — time until every seat is ready and each seat's QEMU memory —
 * beside N cold boots of the same image (the path without ready templates), in one run.
 * `--load S`: then every trainee (one per seat) holds a terminal, types, and calls status every
 * second and Check every 15 s for S seconds, over TLS on 127.0.0.1; it reports the status call's
 * p50/p95, errors, refusals by the rate limits, and host memory. It stops by itself.
 * `--no-cold`: skip the cold boots (for a large --seats load run).
 */
import { classService, loadTable, runLoad } from '../integration/class-load.js';
import { must, newHome, qemuMemory } from '../integration/vm-env.js';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};
const arg = (argv: string[], name: string, dflt: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};

/** A seat's QEMU in MiB, proportional (shared pages counted in shares). */
function qemuPssMiB(home: string, machine: string): number {
  try {
    return qemuMemory(home, machine).pss / 2 ** 20;
  } catch {
    return 0;
  }
}

export async function benchClass(argv: string[]): Promise<void> {
  const seats = arg(argv, '--seats', 3);
  const loadSeconds = arg(argv, '--load', 0);
  const home = newHome('bench-class');
  const client = classService(home);

  // Warm the ready template first so the class measures what a trainer sees on the day.
  await must(client, 'machines.create', { name: 'warm', memoryMiB: 1024, cpus: 2, ready: true });
  await must(client, 'machines.destroy', { name: 'warm' });

  const t0 = performance.now();
  const started = await must(client, 'class.start', { workshop: 'ssh-lockdown', seats });
  const classSeconds = (performance.now() - t0) / 1000;
  const seatRss = started.info.seats.map((s) => qemuPssMiB(home, s.machine));
  console.error(
    `class of ${seats}: ${classSeconds.toFixed(1)} s; QEMU per seat (proportional) ${seatRss.map((r) => r.toFixed(0)).join(', ')} MiB`,
  );

  let load: string[] = [];
  if (loadSeconds > 0) {
    const r = await runLoad(started, loadSeconds);
    load = loadTable(
      r,
      started.info.seats.reduce((n, s) => n + qemuPssMiB(home, s.machine), 0),
    );
    for (const e of r.errors.slice(0, 10)) console.error(`load error: ${e}`);
  }
  await must(client, 'class.end', {});
  if (argv.includes('--no-cold')) {
    for (const l of load) console.log(l);
    return;
  }

  const cold: number[] = [];
  const coldRss: number[] = [];
  const c0 = performance.now();
  for (let i = 0; i < seats; i += 1) {
    const t = performance.now();
    await must(client, 'machines.create', { name: `cold${i}`, memoryMiB: 1024, cpus: 2 });
    await must(client, 'machines.up', { name: `cold${i}` });
    cold.push((performance.now() - t) / 1000);
    coldRss.push(qemuPssMiB(home, `cold${i}`));
  }
  const coldSeconds = (performance.now() - c0) / 1000;
  for (let i = 0; i < seats; i += 1) await must(client, 'machines.destroy', { name: `cold${i}` });

  console.log(
    `\n| ${seats} machines | until all are ready | per machine (median) | QEMU per machine, proportional (median) |\n|---|---|---|---|`,
  );
  console.log(
    `| class seats (ready template + ssh-lockdown setup + first snapshot, served over TLS) | ${classSeconds.toFixed(1)} s | ${(classSeconds / seats).toFixed(1)} s | ${median(seatRss).toFixed(0)} MiB |`,
  );
  console.log(
    `| cold boots of the same image to SSH (no workshop setup) | ${coldSeconds.toFixed(1)} s | ${median(cold).toFixed(1)} s | ${median(coldRss).toFixed(0)} MiB |`,
  );
  for (const l of load) console.log(l);
}
