/**
 * `npm run bench -- class [--seats N] [--load SECONDS]`: a class of N seats of ssh-lockdown
 * through the real class server — time until every seat is ready and each seat's QEMU memory —
 * beside N cold boots of the same image (the path without ready templates), in one run.
 * `--load S`: then every trainee (one per seat) holds a terminal, types, and calls status every
 * second and Check every 15 s for S seconds, over TLS on 127.0.0.1; it reports the status call's
 * p50/p95, errors, refusals by the rate limits, and host memory. It stops by itself.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createLocalClient } from '../../electron/core/local-client.js';
import { createService } from '../../electron/core/service.js';
import { startClassServer } from '../../electron/host/class-server.js';
import { RENDERER_DIST } from '../../electron/host/cli.js';
import { statusKiB } from '../integration/egress-peer.js';
import { ClassSocket, redeem, splitLink } from '../integration/class-client.js';
import { IMAGE_DIR, must, newHome } from '../integration/vm-env.js';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};
const arg = (argv: string[], name: string, dflt: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};

function qemuRssMiB(home: string, machine: string): number {
  try {
    const pid = readFileSync(path.join(home, 'machines', machine, 'qemu.pid'), 'utf8').trim();
    return statusKiB(pid, 'VmRSS') / 1024;
  } catch {
    return 0;
  }
}

export async function benchClass(argv: string[]): Promise<void> {
  const seats = arg(argv, '--seats', 3);
  const loadSeconds = arg(argv, '--load', 0);
  const home = newHome('bench-class');
  const svc: ReturnType<typeof createService> = createService({
    home,
    env: { ...process.env, HLAB_IMAGE_DIR: IMAGE_DIR },
    serveClass: (room, o) =>
      startClassServer({ dispatcher: svc.dispatcher, room, staticDir: RENDERER_DIST, ...o }),
  });
  const client = createLocalClient(svc.dispatcher);

  // Warm the ready template first so the class measures what a trainer sees on the day.
  await must(client, 'machines.create', { name: 'warm', memoryMiB: 1024, cpus: 2, ready: true });
  await must(client, 'machines.destroy', { name: 'warm' });

  const t0 = performance.now();
  const started = await must(client, 'class.start', { workshop: 'ssh-lockdown', seats });
  const classSeconds = (performance.now() - t0) / 1000;
  const seatRss = started.info.seats.map((s) => qemuRssMiB(home, s.machine));
  console.error(
    `class of ${seats}: ${classSeconds.toFixed(1)} s; QEMU RSS per seat ${seatRss.map((r) => r.toFixed(0)).join(', ')} MiB`,
  );

  let load: string[] = [];
  if (loadSeconds > 0)
    load = await runLoad(started, loadSeconds, () =>
      started.info.seats.reduce((n, s) => n + qemuRssMiB(home, s.machine), 0),
    );
  await must(client, 'class.end', {});

  const cold: number[] = [];
  const coldRss: number[] = [];
  const c0 = performance.now();
  for (let i = 0; i < seats; i += 1) {
    const t = performance.now();
    await must(client, 'machines.create', { name: `cold${i}`, memoryMiB: 1024, cpus: 2 });
    await must(client, 'machines.up', { name: `cold${i}` });
    cold.push((performance.now() - t) / 1000);
    coldRss.push(qemuRssMiB(home, `cold${i}`));
  }
  const coldSeconds = (performance.now() - c0) / 1000;
  for (let i = 0; i < seats; i += 1) await must(client, 'machines.destroy', { name: `cold${i}` });

  console.log(
    `\n| ${seats} machines | until all are ready | per machine (median) | QEMU RSS per machine (median) |\n|---|---|---|---|`,
  );
  console.log(
    `| class seats (ready template + ssh-lockdown setup + first snapshot, served over TLS) | ${classSeconds.toFixed(1)} s | ${(classSeconds / seats).toFixed(1)} s | ${median(seatRss).toFixed(0)} MiB |`,
  );
  console.log(
    `| cold boots of the same image to SSH (no workshop setup) | ${coldSeconds.toFixed(1)} s | ${median(cold).toFixed(1)} s | ${median(coldRss).toFixed(0)} MiB |`,
  );
  for (const l of load) console.log(l);
}

/** One simulated trainee per seat, for `seconds`; every call's outcome is counted. */
async function runLoad(
  started: { info: { fingerprint: string; url: string }; links: { seats: Array<{ url: string }> } },
  seconds: number,
  seatsRssMiB: () => number,
): Promise<string[]> {
  const fp = started.info.fingerprint;
  const origin = splitLink(started.info.url).origin;
  const status: number[] = [];
  let errors = 0;
  let limited = 0;
  let checks = 0;
  let typed = 0;
  const trainees = await Promise.all(
    started.links.seats.map(async (s, i) => {
      const r = await redeem(s.url, fp, `load ${i + 1}`);
      if (r.status !== 200) throw new Error(`redeem ${i + 1}: ${r.status} ${r.body}`);
      const socket = await ClassSocket.open(origin, fp, r.cookie as string);
      const t = await socket.call('seat.terminal', { cols: 100, rows: 30 });
      if (!t.ok) throw new Error(`terminal ${i + 1}: ${t.error.message}`);
      return socket;
    }),
  );
  const end = Date.now() + seconds * 1000;
  let peakHostMiB = 0;
  const sampler = setInterval(() => {
    peakHostMiB = Math.max(peakHostMiB, process.memoryUsage().rss / 2 ** 20);
  }, 500);
  await Promise.all(
    trainees.map(async (socket, i) => {
      let nextCheck = Date.now() + 1000 * (i % 15);
      while (Date.now() < end) {
        const t = performance.now();
        const r = await socket.call('seat.status', {});
        status.push(performance.now() - t);
        if (!r.ok) errors += 1;
        const w = await socket.call('seat.input', { data: `echo load-${i}\r` });
        if (w.ok) typed += 1;
        else errors += 1;
        if (Date.now() >= nextCheck) {
          nextCheck += 15_000;
          const c = await socket.call('seat.check', {});
          checks += 1;
          if (!c.ok && c.error.code === 'busy') limited += 1;
          else if (!c.ok) errors += 1;
        }
        await new Promise((res) => setTimeout(res, 1000));
      }
    }),
  );
  clearInterval(sampler);
  for (const s of trainees) s.close();
  return [
    '',
    `| load: ${trainees.length} trainees for ${seconds} s over TLS (127.0.0.1) | value |`,
    '|---|---|',
    `| status calls | ${status.length}, p50 ${pct(status, 50).toFixed(0)} ms, p95 ${pct(status, 95).toFixed(0)} ms |`,
    `| keystroke lines sent | ${typed} |`,
    `| Checks | ${checks} (${limited} refused by the per-seat limit) |`,
    `| errors | ${errors} |`,
    `| app process RSS (peak) | ${peakHostMiB.toFixed(0)} MiB |`,
    `| QEMU RSS, all seats | ${seatsRssMiB().toFixed(0)} MiB |`,
  ];
}
