/** The evidence bundle of a run: what was done, what it proved, hashed and signed. */
import type { AuthEvent } from './events.js';
import type { BenchComparison, BenchResult } from './bench.js';
import type { DeclaredBenchmarks } from './claims.js';
import type { RecipeException, StandardVerdict } from './steps.js';
import type { ProviderKind } from './types.js';

export const EVIDENCE_FORMAT = 'hlab-evidence/1';

export interface EvidenceCheck {
  name: string;
  kind: 'run' | 'probe';
  pass: boolean;
  output: string;
}

export interface EvidenceStep {
  index: number;
  id: string;
  title: string;
  params: Record<string, unknown>;
  reboot: boolean;
  script: string;
  scriptSha256: string;
  checks: Array<{ name: string; run?: string; probe?: string }>;
  outcome: 'validated' | 'rolled-back' | 'skipped' | 'not-run';
  reason?: string;
  output: string;
  results: EvidenceCheck[];
  persistent?: boolean;
  durationMs: number;
  snapshot?: string;
  rollback?: { healthy: boolean; durationMs: number };
  /** Benchmark ids the step claims (absent for runs journaled before steps recorded them). */
  benchmarks?: DeclaredBenchmarks;
  /** Parameters where standards disagree: which standards the value used satisfies, which not. */
  standards?: StandardVerdict[];
}

export interface EvidenceBody {
  format: typeof EVIDENCE_FORMAT;
  app: { name: string; version: string };
  run: {
    id: string;
    machine: string;
    status: string;
    startedAt: string;
    finishedAt?: string;
    persistent?: boolean;
    finalReboot: boolean;
  };
  recipe: { id: string; title?: string; onFailure?: string; exceptions?: RecipeException[]; bench: string[] };
  /** provider: absent in bundles made before other providers existed. sha256 'unknown' for a user's own box or VM. host: the lab server (libvirt). */
  base: { provider?: ProviderKind; image: string; sha256: string; host?: string };
  kernel: { before: string; after: string };
  steps: EvidenceStep[];
  bench: { before: BenchResult[]; after: BenchResult[]; comparisons: BenchComparison[] };
  /** sha256 of the run's journal file as it was when the bundle was made. */
  journalSha256: string;
  /** Logins and login attempts during the steps (absent in runs made before they were kept). */
  logins?: RunLogins;
}

export interface RunLogins {
  /** Oldest first; at most the first RUN_EVENTS_MAX of them. */
  events: AuthEvent[];
  total: number;
  /** sshd's LogLevel as last read: below VERBOSE, failed key attempts are not logged at all. */
  sshdLogLevel?: string;
  /** Reads of the guest's journal that failed (the run went on). */
  errors?: string[];
}

export interface EvidenceBundle {
  body: EvidenceBody;
  /** sha256 of each top-level section of body (canonical JSON). */
  hashes: Record<string, string>;
  /** sha256 over the section hashes in key order. */
  root: string;
  signature: { alg: 'ed25519'; publicKey: string; value: string };
}

export interface EvidenceVerdict {
  /** Consistent with itself: every section, the root and the signature match. Says nothing of who signed. */
  intact: boolean;
  /** Sections whose content no longer matches their hash, missing sections, or "root"/"signature". */
  problems: string[];
  /** Signed by this installation's key (false: a valid signature by someone else's key). */
  signedHere: boolean;
  /** The signer's key fingerprint (SHA256:...), when the key could be read. */
  signer?: string;
  /** The name under which the signer's key is trusted here; absent for an unknown key. */
  trustedAs?: string;
  /** intact AND signed by a trusted key: the only verdict that means "validated". */
  trusted: boolean;
}

export interface TrustedKey {
  name: string;
  fingerprint: string;
  publicKey: string;
}
