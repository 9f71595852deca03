import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { machineRecordsStamp, watchMachineRecords } from '../../electron/core/home-watch.js';

describe('machines changed by another process', () => {
  it('move the stamp on create, state change and removal, and not otherwise', () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'hlab-watch-'));
    const empty = machineRecordsStamp(home);
    expect(machineRecordsStamp(home)).toBe(empty);
    const rec = path.join(home, 'machines', 'm1', 'machine.json');
    mkdirSync(path.dirname(rec), { recursive: true });
    writeFileSync(rec, '{}');
    const created = machineRecordsStamp(home);
    expect(created).not.toBe(empty);
    // A temporary file of an atomic write is not a machine.
    writeFileSync(path.join(home, 'machines', 'x.json.9.tmp'), '');
    expect(machineRecordsStamp(home)).toBe(created);
    utimesSync(rec, new Date(), new Date(Date.now() + 5000));
    expect(machineRecordsStamp(home)).not.toBe(created);
  });

  it('calls back once per change, polled', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'hlab-watch-'));
    mkdirSync(path.join(home, 'vagrant'), { recursive: true });
    let calls = 0;
    const stop = watchMachineRecords(home, () => (calls += 1), 20);
    await new Promise((r) => setTimeout(r, 60));
    expect(calls).toBe(0);
    writeFileSync(path.join(home, 'vagrant', 'v1.json'), '{}');
    await expect.poll(() => calls, { timeout: 5000 }).toBe(1);
    rmSync(path.join(home, 'vagrant', 'v1.json'));
    await expect.poll(() => calls, { timeout: 5000 }).toBe(2);
    stop();
  });
});
