/** A class: one workshop served to trainees' browsers, one seat (machine) per trainee. Plain data. */

/** A seat's life: machines are made before links are handed out; a failed seat is replaced. */
export type SeatState = 'provisioning' | 'ready' | 'failed' | 'busy';

/** One tile of the trainer's dashboard. */
export interface SeatTile {
  /** seat-1 … seat-N: what the trainer and the links name; never a host path. */
  seat: string;
  machine: string;
  /** Lab server the seat's machine runs on ("" = this computer). */
  host: string;
  state: SeatState;
  /** What the seat is doing or why it failed, in words. */
  detail?: string;
  /** The name the trainee typed when joining; "" until someone joined. */
  trainee: string;
  joined: boolean;
  /** The link was revoked and no new one was issued. */
  revoked: boolean;
  challenge: string;
  passed: number;
  total: number;
  attempts: number;
  hints: number;
  resets: number;
  solveUsed: number;
  /** ISO time of the trainee's last call or keystroke. */
  lastActivity?: string;
  /** The last fresh SSH login to the seat failed: the trainee probably locked themselves out. */
  lockedOut: boolean;
  /** The trainer types into this seat's terminal (the trainee sees a notice and cannot type). */
  takenOver: boolean;
  watchers: number;
}

export interface ClassInfo {
  workshop: string;
  title: string;
  /** https://ADDR:PORT/ — where seat links point. */
  url: string;
  /** SHA-256 fingerprint of the server's certificate, as trainees' browsers show it. */
  fingerprint: string;
  certificate: 'self-signed' | 'trainer';
  startedAt: string;
  seats: SeatTile[];
}

/** What a started class hands back once: the links with their tokens (only hashes are kept). */
export interface ClassLinks {
  trainer: string;
  seats: Array<{ seat: string; url: string }>;
}

export interface ClassStartSpec {
  workshop: string;
  seats: number;
  /** Lab servers to spread seats over; empty = this computer. */
  hosts?: string[];
  /** ADDR:PORT to listen on; default 127.0.0.1 and a free port. */
  listen?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** What the trainee's page is told about itself. */
export interface SeatView {
  seat: string;
  trainee: string;
  workshop: string;
  fingerprint: string;
  takenOver: boolean;
}

export const MAX_SEATS = 40;
/** seat-N: the only seat names; checked wherever one comes from a request. */
export const SEAT_NAME = /^seat-[1-9][0-9]?$/;

/** Who a class-server connection is: the trainer's link or one seat's link. */
export type ClassPrincipal = { role: 'trainer' } | { role: 'trainee'; seat: string };
