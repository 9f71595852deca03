/** The app's record of each libvirt machine: which server and domain it is (records/NAME.json). */
import type { BaseRecord, RecordStore } from '../record-store.js';

export interface LibvirtMachineRecord extends BaseRecord {
  /** The lab server (LabHostStore name); a machine never moves. */
  host: string;
  domain: string;
  memoryMiB: number;
  cpus: number;
  user: string;
  /** The disk volume in the app's pool (machines it created). */
  volume?: string;
  /** Adopted: the user's key for the guest. */
  identityFile?: string;
  /** 'filtered': the guest reaches its allow list through the app's proxy; absent: nothing at all. */
  network?: 'filtered';
  /** The server loopback port its connector joins (forwarded to the proxy here). */
  egressPort?: number;
  egressAllow?: string[];
}

/** The machines this app placed on (or adopted from) one server. */
export const machinesOn = (store: RecordStore<LibvirtMachineRecord>, host: string): LibvirtMachineRecord[] =>
  store
    .names()
    .map((n) => store.read(n))
    .filter((r) => r.host === host);
