/**
 * A class whose seats live on lab servers: `class.start` with two hosts puts seat-1 on h1 and
 * seat-2 on h3 (made at the same time, one per server), a trainee's browser connection gets a
 * terminal on their own seat through the server's tunnel and a real Check, and ending the class
 * removes the seats' domains and volumes from both servers. Runs in `npm run test:slow`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../shared/rpc.js';
import { ClassSocket, redeem, splitLink } from '../integration/class-client.js';
import { classService } from '../integration/class-load.js';
import { must, newHome } from '../integration/vm-env.js';
import { authorize, onHost, uriOf } from './lab-env.js';

let client: ApiClient;
let started: Awaited<ReturnType<typeof start>>;
const start = () => must(client, 'class.start', { workshop: 'ssh-lockdown', seats: 2, hosts: ['h1', 'h3'] });

beforeAll(async () => {
  client = classService(newHome('class-pool'));
  await authorize(client);
  await must(client, 'hosts.add', { name: 'h1', uri: uriOf(1) });
  await must(client, 'hosts.add', { name: 'h3', uri: uriOf(3) });
  started = await start();
});

afterAll(async () => {
  await client?.call('class.end', {});
});

describe('a class across two lab servers', { timeout: 900_000 }, () => {
  it('places one seat per server and serves a trainee their own seat through the tunnel', async () => {
    expect(started.info.seats.map((s) => [s.seat, s.host, s.state])).toEqual([
      ['seat-1', 'h1', 'ready'],
      ['seat-2', 'h3', 'ready'],
    ]);
    const [m1, m2] = started.info.seats.map((s) => s.machine) as [string, string];
    expect(onHost('h1', ['list', '--name']).out).toContain(`hlab-${m1}`);
    expect(onHost('h3', ['list', '--name']).out).toContain(`hlab-${m2}`);

    const fp = started.info.fingerprint;
    const origin = splitLink(started.info.url).origin;
    // Links are listed by seat number whatever order the seats were ready in.
    expect(started.links.seats.map((l) => l.seat)).toEqual(['seat-1', 'seat-2']);
    const joined = await redeem(started.links.seats.find((l) => l.seat === 'seat-2')!.url, fp, {
      name: 'Remote',
    });
    expect(joined.status).toBe(200);
    const b = await ClassSocket.open(origin, fp, joined.cookie as string);
    const t = await b.call('seat.terminal', { cols: 100, rows: 30 });
    expect(t.ok).toBe(true);
    const id = t.ok ? t.value.id : '';
    await b.call('seat.input', { data: 'echo "on=$(hostname) n=$((6*7))"\r' });
    await expect.poll(() => b.output(id), { timeout: 60_000 }).toContain(`on=${m2} n=42`);
    const check = await b.call('seat.check', {});
    expect(check.ok && check.value.challenge).toBe('keys-only');
    expect(check.ok && check.value.pass).toBe(false);
    b.close();
  });

  it('ending the class removes the seats from both servers', async () => {
    const [m1, m2] = started.info.seats.map((s) => s.machine) as [string, string];
    await must(client, 'class.end', {});
    expect(onHost('h1', ['list', '--all', '--name']).out).not.toContain(`hlab-${m1}`);
    expect(onHost('h3', ['list', '--all', '--name']).out).not.toContain(`hlab-${m2}`);
    expect(onHost('h1', ['vol-list', '--pool', 'hlab']).out).not.toContain(m1);
  });
});
