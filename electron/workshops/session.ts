/**
 * The trainee's loop: start (machine, setup, a snapshot at each challenge's start), check (the
 * challenge's script over a fresh SSH login; "FAIL:" lines for the trainee), hint, reset (a live
 * restore of the challenge's start) and solve. Every change is saved before it is reported.
 */
import { HlabError } from '../../shared/errors.js';
import type { Progress } from '../../shared/types.js';
import {
  summarize,
  type CheckResult,
  type WorkshopDef,
  type WorkshopProgress,
  type WorkshopStatus,
} from '../../shared/workshops.js';
import type { EngineContext } from '../engine/context.js';
import type { SshExecutor } from '../ssh/executor.js';
import { AUTH_REFUSED_GRACE_MS, rebootMachine } from '../engine/reboot.js';
import type { WorkshopLibrary } from './library.js';
import {
  challengeSnapshot,
  currentChallenge,
  newProgress,
  recordCheck,
  recordHint,
  recordReset,
  recordSolve,
  type ProgressStore,
} from './progress.js';

export interface WorkshopOp {
  signal: AbortSignal;
  progress(p: Progress): void;
  log(stream: 'stdout' | 'stderr' | 'info', text: string): void;
}

export interface WorkshopContext extends EngineContext {
  library: WorkshopLibrary;
  progress: ProgressStore;
  /** Creates and starts a machine from a base image (the service knows images and keys). */
  createMachine(name: string, image: string, op: WorkshopOp): Promise<void>;
  changed(machine: string): void;
}

const CHECK_TIMEOUT_MS = 10 * 60_000;
const READY_TIMEOUT_MS = 300_000;
/** Trainee names land in file names of exports and in HTML: keep them plain. */
export const TRAINEE = /^[\p{L}\p{N}][\p{L}\p{N} ._@-]{0,63}$/u;

export const failLines = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('FAIL:'))
    .map((l) => l.slice(5).trim());

export class WorkshopSessions {
  constructor(private readonly ctx: WorkshopContext) {}

  private def(p: WorkshopProgress): WorkshopDef {
    return this.ctx.library.get(p.workshop);
  }

  status(machine: string, p = this.ctx.progress.require(machine)): WorkshopStatus {
    const w = this.def(p);
    const cp = p.challenges[p.current];
    const ch = w.challenges[p.current];
    return {
      progress: p,
      workshop: summarize(w),
      ...(cp && ch
        ? {
            current: {
              id: ch.id,
              title: ch.title,
              page: ch.page,
              hints: ch.hints.slice(0, cp.hintsShown),
              hintsLeft: Math.max(0, ch.hints.length - cp.hintsShown),
              hasSolve: Boolean(ch.solve),
            },
          }
        : {}),
    };
  }

  private save(p: WorkshopProgress): WorkshopProgress {
    this.ctx.progress.save(p);
    this.ctx.changed(p.machine);
    return p;
  }

  async start(
    req: { workshop: string; trainee: string; machine: string },
    op: WorkshopOp,
  ): Promise<WorkshopStatus> {
    if (!TRAINEE.test(req.trainee))
      throw new HlabError(
        'bad-request',
        `trainee must be 1-64 letters, digits, spaces, ".", "_", "@" or "-" (got ${JSON.stringify(req.trainee)}).`,
      );
    const w = this.ctx.library.get(req.workshop);
    const existing = this.ctx.progress.get(req.machine);
    if (existing) {
      if (existing.workshop !== w.id)
        throw new HlabError(
          'conflict',
          `Machine "${req.machine}" already runs workshop "${existing.workshop}"; pick another machine name.`,
          { machine: req.machine },
        );
      // Resuming: the machine may have been stopped with the app.
      await this.ensureUp(req.machine, op);
      return this.status(req.machine, existing);
    }
    if (this.ctx.machines.exists(req.machine))
      throw new HlabError(
        'conflict',
        `A machine named "${req.machine}" already exists and runs no workshop; pick another name.`,
        { machine: req.machine },
      );
    await this.ctx.createMachine(req.machine, w.base, op);
    try {
      if (w.setup) {
        op.progress({ current: 0, max: -1, description: `setting up ${w.title}` });
        await this.runAsRoot(
          req.machine,
          w.setup,
          `setup of workshop "${w.id}"`,
          w.setupTimeoutSeconds * 1000,
          op,
        );
        await this.answersAfterSetup(req.machine, w.id, op);
      }
      await this.snapshot(req.machine, 0, op);
    } catch (err) {
      // A machine that never became a workshop machine would block the next start under its name.
      await this.ctx.machines
        .owner(req.machine)
        .destroy(req.machine)
        .catch(() => undefined);
      this.ctx.knownHosts.forget(req.machine);
      throw err;
    }
    const p = this.save(newProgress(w, req.trainee, req.machine, new Date()));
    return this.status(req.machine, p);
  }

  /**
   * A setup that ends with `systemctl reload ssh` (most do) returns while sshd re-executes itself.
   * A snapshot taken then holds that restart, and every Reset to it would wait for it again with
   * connections refused. A fresh login first proves the machine a trainee gets answers SSH with
   * sudo, and that the listener is back before its state is saved.
   */
  private async answersAfterSetup(machine: string, workshop: string, op: WorkshopOp): Promise<void> {
    op.progress({ current: 0, max: -1, description: 'proving a fresh login after the setup' });
    try {
      await this.ctx.machines.waitReady(machine, {
        signal: op.signal,
        progress: op.progress,
        timeoutMs: READY_TIMEOUT_MS,
        proveSudo: true,
        authRefusedGraceMs: AUTH_REFUSED_GRACE_MS,
      });
    } catch (err) {
      if (!(err instanceof HlabError) || err.code === 'cancelled') throw err;
      throw new HlabError(
        err.code,
        `After the setup of workshop "${workshop}", machine "${machine}" does not take a fresh SSH login with sudo: ${err.message}`,
        { ...err.details, machine },
      );
    }
  }

  private async snapshot(machine: string, index: number, op: WorkshopOp): Promise<void> {
    const name = challengeSnapshot(index);
    const snaps = this.ctx.machines.owner(machine).snapshots;
    // A check that passed again after a reset replaces the old start of the next challenge.
    if ((await snaps.list(machine)).some((s) => s.name === name)) await snaps.remove(machine, name);
    op.progress({ current: 0, max: -1, description: `snapshot ${name} (start of challenge ${index + 1})` });
    await snaps.take(machine, name, { signal: op.signal, progress: op.progress });
  }

  private async runAsRoot(machine: string, script: string, what: string, timeoutMs: number, op: WorkshopOp) {
    const ex = this.ctx.machines.executor(machine);
    try {
      const r = await ex.runScript(script, {
        timeoutMs,
        signal: op.signal,
        onStdout: (s) => op.log('stdout', s.replace(/\n$/, '')),
        onStderr: (s) => op.log('stderr', s.replace(/\n$/, '')),
      });
      if (r.exitCode !== 0)
        throw new HlabError('command-failed', `The ${what} exited ${r.exitCode} on machine "${machine}".`, {
          machine,
          exitCode: r.exitCode,
          stdout: r.stdout.split('\n').slice(-20).join('\n'),
          stderr: r.stderr.split('\n').slice(-20).join('\n'),
        });
      return r;
    } finally {
      ex.reset();
    }
  }

  /** A trainee's `sudo reboot` ends a QEMU machine (exit-and-restart): start it again before checking. */
  private async ensureUp(machine: string, op: WorkshopOp): Promise<void> {
    if ((await this.ctx.machines.get(machine)).state === 'running') return;
    op.log('info', `machine "${machine}" is stopped (a reboot ends it): starting it`);
    await this.ctx.machines.up(machine, {
      signal: op.signal,
      progress: op.progress,
      timeoutMs: READY_TIMEOUT_MS,
    });
    this.ctx.changed(machine);
  }

  /**
   * A login right after `systemctl reload ssh` can meet the listener while it re-executes itself:
   * retry briefly before telling a trainee they locked themselves out. A refused key is final.
   */
  private async reachable(ex: SshExecutor, signal: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        // The connection this opens is the one the check then runs on.
        await ex.exec('true', { timeoutMs: 30_000, signal });
        return;
      } catch (err) {
        ex.reset();
        const code = (err as HlabError).code;
        if (attempt >= 6 || ['ssh-auth', 'host-key-changed', 'cancelled'].includes(code)) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  async check(machine: string, op: WorkshopOp): Promise<CheckResult> {
    let p = this.ctx.progress.require(machine);
    const w = this.def(p);
    currentChallenge(p);
    const index = p.current;
    const ch = w.challenges[index]!;
    await this.ensureUp(machine, op);
    op.progress({ current: 0, max: -1, description: `checking "${ch.title}"` });
    const started = Date.now();
    const ex = this.ctx.machines.executor(machine);
    let exitCode: number;
    let output: string;
    let failures: string[];
    let loginFailed = false;
    try {
      await this.reachable(ex, op.signal);
      const r = await ex.runScript(ch.check, {
        timeoutMs: CHECK_TIMEOUT_MS,
        signal: op.signal,
      });
      exitCode = r.exitCode;
      output = (r.stdout + r.stderr).trim();
      failures = failLines(r.stdout);
      if (exitCode !== 0 && failures.length === 0)
        failures = [
          `the check exited ${exitCode}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').slice(-1)[0]}` : ''}`,
        ];
    } catch (err) {
      const e = err as HlabError;
      if (e.code === 'cancelled') throw e;
      // The check logs in afresh as the lab user: when that fails, the trainee locked the door.
      exitCode = 255;
      loginFailed = true;
      output = e.message;
      failures = [
        `cannot log in to "${machine}" over SSH any more (${e.message}). You may have locked yourself out: Reset restores the start of this challenge.`,
      ];
    } finally {
      ex.reset();
    }
    const pass = exitCode === 0;
    p = this.save(recordCheck(p, pass, failures, new Date()));
    if (pass && index + 1 < w.challenges.length) await this.snapshot(machine, index + 1, op);
    return {
      challenge: ch.id,
      pass,
      failures,
      exitCode,
      output,
      durationMs: Date.now() - started,
      progress: p,
      ...(loginFailed ? { loginFailed } : {}),
    };
  }

  hint(machine: string): WorkshopStatus {
    const p = this.ctx.progress.require(machine);
    const ch = this.def(p).challenges[p.current];
    const cp = currentChallenge(p);
    if (!ch || cp.hintsShown >= ch.hints.length)
      throw new HlabError('not-found', `No more hints for "${ch?.title ?? cp.id}".`, { machine });
    return this.status(machine, this.save(recordHint(p, new Date())));
  }

  async reset(machine: string, op: WorkshopOp): Promise<WorkshopStatus> {
    const p = this.ctx.progress.require(machine);
    currentChallenge(p);
    const snap = challengeSnapshot(p.current);
    this.ctx.terminals.closeMachine(machine, `machine "${machine}" was reset to the start of the challenge`);
    await this.ctx.machines.restore(machine, snap, {
      signal: op.signal,
      progress: op.progress,
      timeoutMs: READY_TIMEOUT_MS,
      start: true,
      proveSudo: true,
      // The trainee's terminal opens next: it takes this proven login instead of a second one.
      handOver: true,
    });
    return this.status(machine, this.save(recordReset(p, new Date())));
  }

  async solve(machine: string, op: WorkshopOp): Promise<CheckResult> {
    const p = this.ctx.progress.require(machine);
    const ch = this.def(p).challenges[p.current];
    currentChallenge(p);
    if (!ch?.solve)
      throw new HlabError('not-found', `Challenge "${ch?.title}" has no solution script.`, { machine });
    await this.ensureUp(machine, op);
    this.save(recordSolve(p, new Date()));
    op.progress({ current: 0, max: -1, description: `solving "${ch.title}"` });
    await this.runAsRoot(machine, ch.solve, `solution of "${ch.id}"`, CHECK_TIMEOUT_MS, op);
    if (ch.reboot) await rebootMachine(this.ctx, machine, { signal: op.signal, progress: op.progress });
    return this.check(machine, op);
  }

  /** Forgets the session and destroys its machine. */
  async end(machine: string): Promise<void> {
    this.ctx.progress.require(machine);
    if (this.ctx.machines.exists(machine)) {
      this.ctx.terminals.closeMachine(machine, `workshop on "${machine}" ended`);
      await this.ctx.machines.owner(machine).destroy(machine);
      this.ctx.knownHosts.forget(machine);
    }
    this.ctx.progress.remove(machine);
    this.ctx.changed(machine);
  }
}
