/**
 * Hot start: every seat made before the class begins. Seats on one lab server (or this computer)
 * are made one after another — under TCG two at once only share the same cores — while different
 * servers work at the same time. Progress names the seat being made.
 */
import type { WorkshopOp } from '../session.js';
import type { Classroom } from './classroom.js';

export interface SeatPlan {
  seat: string;
  host: string;
  machine: (attempt: number) => string;
}

/** seat-1 … seat-N, spread round-robin over the hosts ("" = this computer). */
export function planSeats(count: number, hosts: string[], classId: string): SeatPlan[] {
  const pool = hosts.length ? hosts : [''];
  return Array.from({ length: count }, (_, i) => ({
    seat: `seat-${i + 1}`,
    host: pool[i % pool.length] as string,
    machine: (attempt: number) => `${classId}-s${i + 1}${attempt ? `-r${attempt}` : ''}`,
  }));
}

export async function provisionSeats(
  room: Classroom,
  plan: SeatPlan[],
  start: (machine: string, host: string, op: WorkshopOp) => Promise<void>,
  op: WorkshopOp,
): Promise<{ ready: string[]; failed: string[] }> {
  const byHost = new Map<string, SeatPlan[]>();
  for (const p of plan) byHost.set(p.host, [...(byHost.get(p.host) ?? []), p]);
  let done = 0;
  const ready: string[] = [];
  const failed: string[] = [];
  const report = (description: string) => op.progress({ current: done, max: plan.length, description });
  await Promise.all(
    [...byHost.values()].map(async (seats) => {
      for (const p of seats) {
        if (op.signal.aborted) return;
        report(`making ${p.seat}${p.host ? ` on ${p.host}` : ''}`);
        const seatOp: WorkshopOp = {
          signal: op.signal,
          log: op.log,
          progress: (pr) => report(`${p.seat}: ${pr.description}`),
        };
        const ok = await room.provision(p.seat, p.host, p.machine, (m, o) => start(m, p.host, o), seatOp);
        (ok ? ready : failed).push(p.seat);
        done += 1;
        report(`${p.seat} ${ok ? 'ready' : 'failed'}`);
      }
    }),
  );
  return { ready, failed };
}
