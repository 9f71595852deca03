/** What `hlab doctor` and the first-run card report: what this host has, lacks, and how to fix it. */
export type DoctorNeed = 'required' | 'for building images' | 'optional';

export interface DoctorCheck {
  id: string;
  title: string;
  ok: boolean;
  need: DoctorNeed;
  /** What was found (a version, a path, a size) or what is wrong. */
  detail: string;
  /** The exact command (or step) that fixes it on this OS. */
  fix?: string;
}

export interface DoctorReport {
  os: string;
  checks: DoctorCheck[];
  /** How a base image will be got here: built locally (root + loop devices) or pulled. */
  imagePath: 'build' | 'pull' | 'have';
  imagePathWhy: string;
  /** Every required check passes and a base image can be had. */
  ready: boolean;
}
