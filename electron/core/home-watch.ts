/**
 * Machines changed by another process (a CLI `hlab machine rm` beside the open app) reach every
 * open window: a long-lived host compares a stamp of the machine records every two seconds and
 * broadcasts machines.changed when it moved. A stamp is names and modification times only.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Where providers keep one record per machine (a folder with machine.json, or a NAME.json file). */
const RECORD_DIRS = ['machines', 'vagrant', 'virtualbox', 'libvirt'];

/** A modification time, or undefined for anything that is not there or not readable (never throws). */
function mtime(p: string): number | undefined {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return undefined;
  }
}

function entryStamp(dir: string, name: string): string {
  const p = path.join(dir, name);
  return `${name}:${mtime(path.join(p, 'machine.json')) ?? mtime(p) ?? 0}`;
}

export function machineRecordsStamp(home: string): string {
  return RECORD_DIRS.map((d) => {
    const dir = path.join(home, d);
    let names: string[];
    try {
      names = readdirSync(dir)
        .filter((n) => !n.endsWith('.tmp'))
        .sort();
    } catch {
      return `${d}:-`;
    }
    return `${d}:${names.map((n) => entryStamp(dir, n)).join(',')}`;
  }).join('|');
}

export function watchMachineRecords(home: string, onChange: () => void, everyMs = 2000): () => void {
  let last = machineRecordsStamp(home);
  const timer = setInterval(() => {
    const now = machineRecordsStamp(home);
    if (now !== last) onChange();
    last = now;
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
