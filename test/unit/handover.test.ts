import { EventEmitter } from 'node:events';
import type { Client } from 'ssh2';
import { describe, expect, it } from 'vitest';
import { endpointOf, LoginHandover } from '../../electron/ssh/handover.js';

/** Just what the handover uses of an ssh2 Client: end(), and the close it leads to. */
class FakeClient extends EventEmitter {
  ended = false;
  end() {
    this.ended = true;
    this.emit('close');
  }
}
const fake = () => new FakeClient() as FakeClient & Client;
const AT = endpointOf({ user: 'lab', host: '127.0.0.1', port: 40022 });

describe('a proven login handed to the next terminal', () => {
  it('is taken once, and only for the same endpoint', () => {
    const h = new LoginHandover();
    const c = fake();
    h.put('m1', AT, c);
    expect(h.take('m1', AT)).toBe(c);
    expect(h.take('m1', AT)).toBeUndefined();
    expect(c.ended).toBe(false);

    const d = fake();
    h.put('m1', AT, d);
    // The machine moved (another start, another port): the old login is closed, not used.
    expect(h.take('m1', endpointOf({ user: 'lab', host: '127.0.0.1', port: 40023 }))).toBeUndefined();
    expect(d.ended).toBe(true);
  });

  it('holds one per machine, and closes what nobody takes in time', async () => {
    const h = new LoginHandover(30);
    const a = fake();
    const b = fake();
    h.put('m1', AT, a);
    h.put('m1', AT, b);
    expect(a.ended).toBe(true);
    expect(h.size).toBe(1);
    await new Promise((r) => setTimeout(r, 60));
    expect(b.ended).toBe(true);
    expect(h.size).toBe(0);
  });

  it('forgets a login whose connection closed, and closes all when the process ends', () => {
    const h = new LoginHandover();
    const a = fake();
    h.put('m1', AT, a);
    a.emit('close');
    expect(h.take('m1', AT)).toBeUndefined();
    const b = fake();
    const c = fake();
    h.put('m1', AT, b);
    h.put('m2', AT, c);
    h.dropAll();
    expect([b.ended, c.ended, h.size]).toEqual([true, true, 0]);
  });
});
