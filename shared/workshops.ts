/** Workshops (labs/workshops/<id>/workshop.yaml + Markdown pages) and a trainee's progress, as plain data. */

export interface ChallengeDef {
  id: string;
  title: string;
  /** The page's Markdown text (read from `pageFile`, relative to the workshop folder). */
  page: string;
  pageFile: string;
  hints: string[];
  /** Shell run as root on the guest: exit 0 passes; stdout lines starting "FAIL:" go to the trainee. */
  check: string;
  /** Shell run as root that makes the check pass (trainers, tests, a trainee who gives up). */
  solve?: string;
  /** The solve ends in a reboot (a new kernel): the app reboots the machine the provider's way after it. */
  reboot: boolean;
}

export interface WorkshopDef {
  id: string;
  title: string;
  description?: string;
  audience: string;
  durationMinutes: number;
  /** Base image name, e.g. debian-12. */
  base: string;
  /** Shell run as root once, when a trainee starts, before the first challenge's snapshot. */
  setup?: string;
  /** Long-running setup (package installs under TCG) can take this long; default 10 minutes. */
  setupTimeoutSeconds: number;
  challenges: ChallengeDef[];
  /** The workshop folder (shown in errors) and where it came from. */
  dir: string;
  source: 'built-in' | 'imported';
}

export type ChallengeStatus = 'locked' | 'current' | 'passed';

export interface ChallengeProgress {
  id: string;
  status: ChallengeStatus;
  attempts: number;
  hintsShown: number;
  resets: number;
  /** The trainee ran the solve script (trainers want to know). */
  solveUsed: boolean;
  startedAt?: string;
  passedAt?: string;
  /** FAIL: lines of the last failed check. */
  lastFail?: string[];
}

export interface WorkshopProgress {
  format: 'hlab-workshop-progress/1';
  workshop: string;
  workshopTitle: string;
  trainee: string;
  machine: string;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  /** Index of the current challenge; equals challenges.length once all passed. */
  current: number;
  challenges: ChallengeProgress[];
}

export interface CheckResult {
  challenge: string;
  pass: boolean;
  /** The check's stdout lines that start with "FAIL:", without the prefix. */
  failures: string[];
  exitCode: number;
  output: string;
  durationMs: number;
  progress: WorkshopProgress;
  /** The fresh SSH login before the check failed: the trainee probably locked themselves out. */
  loginFailed?: boolean;
}

export type WorkshopSummary = Pick<
  WorkshopDef,
  'id' | 'title' | 'description' | 'audience' | 'durationMinutes' | 'base' | 'source'
> & { challenges: Array<Pick<ChallengeDef, 'id' | 'title'>> };

/** What the trainee's view needs: the progress and the current challenge's page and shown hints. */
export interface WorkshopStatus {
  progress: WorkshopProgress;
  workshop: WorkshopSummary;
  current?: {
    id: string;
    title: string;
    page: string;
    hints: string[];
    hintsLeft: number;
    hasSolve: boolean;
  };
}

/** One row per trainee in the trainer's class table. */
export interface ClassRow {
  trainee: string;
  workshop: string;
  passed: number;
  total: number;
  attempts: number;
  hints: number;
  resets: number;
  solveUsed: number;
  minutes: number;
  finished: boolean;
  perChallenge: Record<string, 'passed' | 'solved' | 'open'>;
}

export const WORKSHOP_ARCHIVE_FORMAT = 'hlab-workshop-archive/1';

/** `hlab workshop pack` output: one JSON file holding the workshop folder's text files. */
export interface WorkshopArchive {
  format: typeof WORKSHOP_ARCHIVE_FORMAT;
  id: string;
  files: Record<string, string>;
}

export const summarize = (w: WorkshopDef): WorkshopSummary => ({
  id: w.id,
  title: w.title,
  ...(w.description ? { description: w.description } : {}),
  audience: w.audience,
  durationMinutes: w.durationMinutes,
  base: w.base,
  challenges: w.challenges.map((c) => ({ id: c.id, title: c.title })),
  source: w.source,
});
