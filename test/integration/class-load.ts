/**
 * A bounded load on a running class: one simulated trainee per seat holds a terminal, types a
 * line, calls status every second and Check every 15 s, for a fixed time, over TLS on 127.0.0.1.
 * Every outcome is counted; Checks refused by the per-seat limit are counted apart from errors.
 */
import { createLocalClient } from '../../electron/core/local-client.js';
import { createService } from '../../electron/core/service.js';
import { startClassServer } from '../../electron/host/class-server.js';
import { RENDERER_DIST } from '../../electron/host/cli.js';
import type { ApiClient } from '../../shared/rpc.js';
import { ClassSocket, redeem, splitLink } from './class-client.js';
import { IMAGE_DIR } from './vm-env.js';

/** An in-process service that can serve a class (as the CLI and the app wire it). */
export function classService(home: string): ApiClient {
  const svc: ReturnType<typeof createService> = createService({
    home,
    env: { ...process.env, HLAB_IMAGE_DIR: IMAGE_DIR },
    serveClass: (room, o) =>
      startClassServer({ dispatcher: svc.dispatcher, room, staticDir: RENDERER_DIST, ...o }),
  });
  return createLocalClient(svc.dispatcher);
}

export interface LoadResult {
  trainees: number;
  seconds: number;
  statusMs: number[];
  typed: number;
  checks: number;
  limited: number;
  errors: string[];
  peakHostMiB: number;
}

export const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};

export async function runLoad(
  started: { info: { fingerprint: string; url: string }; links: { seats: Array<{ url: string }> } },
  seconds: number,
): Promise<LoadResult> {
  const fp = started.info.fingerprint;
  const origin = splitLink(started.info.url).origin;
  const r: LoadResult = {
    trainees: 0,
    seconds,
    statusMs: [],
    typed: 0,
    checks: 0,
    limited: 0,
    errors: [],
    peakHostMiB: 0,
  };
  const trainees = await Promise.all(
    started.links.seats.map(async (s, i) => {
      // Each simulated trainee is its own browser at its own address, as in a room.
      const local = `127.0.${1 + (i >> 8)}.${1 + (i % 250)}`;
      const joined = await redeem(s.url, fp, { name: `load ${i + 1}`, local });
      if (joined.status !== 200) throw new Error(`redeem ${i + 1}: ${joined.status} ${joined.body}`);
      const socket = await ClassSocket.open(origin, fp, joined.cookie as string, { local });
      const t = await socket.call('seat.terminal', { cols: 100, rows: 30 });
      if (!t.ok) throw new Error(`terminal ${i + 1}: ${t.error.message}`);
      return socket;
    }),
  );
  r.trainees = trainees.length;
  const end = Date.now() + seconds * 1000;
  const sampler = setInterval(() => {
    r.peakHostMiB = Math.max(r.peakHostMiB, process.memoryUsage().rss / 2 ** 20);
  }, 500);
  try {
    await Promise.all(
      trainees.map(async (socket, i) => {
        const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
        // A page polls and types once a second; its Checks (seconds each under TCG) run beside that.
        const poll = async () => {
          while (Date.now() < end) {
            const t = performance.now();
            const st = await socket.call('seat.status', {});
            r.statusMs.push(performance.now() - t);
            if (!st.ok) r.errors.push(`status: ${st.error.message}`);
            const w = await socket.call('seat.input', { data: `echo load-${i}\r` });
            if (w.ok) r.typed += 1;
            else r.errors.push(`input: ${w.error.message}`);
            await sleep(1000);
          }
        };
        const checks = async () => {
          await sleep(1000 * (i % 15));
          while (Date.now() < end) {
            const c = await socket.call('seat.check', {});
            r.checks += 1;
            if (!c.ok && c.error.code === 'busy') r.limited += 1;
            else if (!c.ok) r.errors.push(`check: ${c.error.message}`);
            await sleep(15_000);
          }
        };
        await Promise.all([poll(), checks()]);
        if (socket.closed) r.errors.push(`socket closed: ${socket.closed.code} ${socket.closed.reason}`);
      }),
    );
  } finally {
    clearInterval(sampler);
    for (const s of trainees) s.close();
  }
  return r;
}

export function loadTable(r: LoadResult, seatsMiB: number): string[] {
  return [
    '',
    `| load: ${r.trainees} trainees for ${r.seconds} s over TLS (127.0.0.1) | value |`,
    '|---|---|',
    `| status calls | ${r.statusMs.length}, p50 ${percentile(r.statusMs, 50).toFixed(0)} ms, p95 ${percentile(r.statusMs, 95).toFixed(0)} ms |`,
    `| terminal lines typed | ${r.typed} |`,
    `| Checks | ${r.checks} (${r.limited} refused by the per-seat limit) |`,
    `| errors | ${r.errors.length} |`,
    `| app process RSS (peak) | ${r.peakHostMiB.toFixed(0)} MiB |`,
    `| QEMU, all seats (proportional) | ${seatsMiB.toFixed(0)} MiB |`,
  ];
}
