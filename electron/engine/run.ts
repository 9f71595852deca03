/**
 * The loop: per step, snapshot -> apply over SSH -> verify (step checks + health probes, with the
 * old session kept open for lockout-risk steps) -> on any failure restore the snapshot, wait for
 * SSH, re-check health, record "rolled back". Every event is journaled (fsync) before it is told.
 */
import { whatItSaid } from '../../shared/said.js';
import { StringDecoder } from 'node:string_decoder';
import { createHash, randomBytes } from 'node:crypto';
import { HlabError } from '../../shared/errors.js';
import type { RunSummary, StampedEvent, RunEvent } from '../../shared/runs.js';
import {
  standardVerdicts,
  type ParamValue,
  type Probe,
  type RecipeDef,
  type StepDef,
} from '../../shared/steps.js';
import type { EngineContext } from './context.js';
import { SshExecutor } from '../ssh/executor.js';
import type { SshTarget } from '../ssh/session.js';
import { renderScript } from '../steps/render.js';
import { Journal, readEvents, summarize } from './journal.js';
import { FAILED_UNITS, runConnectionProbes, runProbe, type ProbeEnv } from './probes.js';
import { rebootMachine } from './reboot.js';
import path from 'node:path';
import { runBench, saveBench } from '../bench/index.js';
import { RunEvents } from './run-events.js';

const APPLY_TIMEOUT_MS = 15 * 60_000;
const CHECK_TIMEOUT_MS = 2 * 60_000;
const RESTORE_TIMEOUT_MS = 180_000;
const HEALTH: Probe[] = ['fresh-ssh-login', 'sudo', 'no-failed-units'];

/** A step's output in the journal (and so on the host's disk) is bounded: the guest decides its size. */
export const STEP_OUTPUT_JOURNAL_BYTES = 1 << 20;

/** Passes output on until `limit` bytes (UTF-8), then says once that the rest is not kept. */
export function journalBudget(
  limit: number,
  emit: (stream: 'stdout' | 'stderr', text: string) => void,
): (stream: 'stdout' | 'stderr', text: string) => void {
  let used = 0;
  return (stream, text) => {
    if (used > limit) return;
    const room = limit - used;
    const bytes = Buffer.from(text);
    used += bytes.length;
    if (used <= limit) return emit(stream, text);
    emit(
      stream,
      // StringDecoder holds back a character cut in half, so the journal keeps only whole ones.
      `${new StringDecoder('utf8').write(bytes.subarray(0, room))}\n[output truncated: the journal keeps ${limit >> 20} MiB per step]\n`,
    );
  };
}

export interface RunOptions {
  ctx: EngineContext;
  recipe: RecipeDef;
  library: StepDef[];
  machine: string;
  signal?: AbortSignal;
  onEvent?: (e: StampedEvent, runId: string) => void;
}

export function newRunId(recipeId: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return `${stamp}-${recipeId}-${randomBytes(3).toString('hex')}`;
}

/** Ctrl-C between two phases: stop before the next one begins (no snapshot, no step). */
function stopIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new HlabError('cancelled', 'The run was cancelled.');
}

/** One run as it goes: where it journals, how it reaches the machine, and what it has left behind. */
interface Run {
  o: RunOptions;
  runId: string;
  journal: Journal;
  byId: Map<string, StepDef>;
  emit: (e: RunEvent) => void;
  ex: SshExecutor;
  target: () => Promise<SshTarget>;
  logins: RunEvents;
  /** Snapshots taken before steps: the newest is kept for recovery until the run ends. */
  taken: string[];
  status: 'validated' | 'failed' | 'cancelled' | 'error';
  message?: string;
}

type Validated = Array<{ index: number; step: StepDef; params: Record<string, ParamValue> }>;

/**
 * A recipe's run: facts and benches before, each step's lifecycle, the final reboot's persistence
 * check, facts and benches after; every event journaled before anyone hears of it.
 */
export async function runRecipe(o: RunOptions): Promise<RunSummary> {
  const run = await startRun(o);
  try {
    await recordFacts(run, 'before');
    await benchPhase(run, 'before');
    stopIfCancelled(o.signal);
    await run.logins.start(run.ex, await run.target());
    const validated = await runSteps(run);
    if (o.recipe.finalReboot && validated.length && !o.signal?.aborted)
      await checkPersistence(run, validated);
    if (!o.signal?.aborted) {
      await recordFacts(run, 'after');
      await benchPhase(run, 'after');
      await run.logins.collect(run.ex, o.signal);
    }
  } catch (err) {
    run.status = (err as HlabError).code === 'cancelled' ? 'cancelled' : 'error';
    run.message = (err as Error).message;
  } finally {
    run.ex.reset();
  }
  return finishRun(run);
}

/** Refuses a machine that is not running; otherwise opens the journal with run-started. */
async function startRun(o: RunOptions): Promise<Run> {
  const { ctx, recipe, machine } = o;
  const info = await ctx.machines.get(machine);
  if (info.state !== 'running') {
    throw new HlabError(
      'vm-state',
      `Machine "${machine}" is ${info.state}; start it first (hlab machine up ${machine}).`,
      { machine },
    );
  }
  const byId = new Map(o.library.map((s) => [s.id, s]));
  const runId = newRunId(recipe.id);
  const journal = Journal.create(ctx.paths.runs, runId);
  // Journal first, unconditionally: `o.onEvent?.(journal.append(e))` would skip the append too.
  const emit = (e: RunEvent) => {
    const stamped = journal.append(e);
    o.onEvent?.(stamped, runId);
  };
  const target = () => ctx.machines.targetOf(machine);
  const run: Run = {
    o,
    runId,
    journal,
    byId,
    emit,
    ex: new SshExecutor(target, ctx.knownHosts),
    target,
    logins: new RunEvents(machine, path.join(ctx.paths.runs, runId), emit),
    taken: [],
    status: 'validated',
  };
  emit({
    type: 'run-started',
    runId,
    recipe: recipe.id,
    machine,
    steps: recipe.steps.map((s) => s.step),
    titles: recipe.steps.map((s) => byId.get(s.step)?.title ?? s.step),
    pid: process.pid,
    exceptions: recipe.exceptions,
  });
  return run;
}

/** The recipe's benches on the machine as it is now; a tool that fails is journaled, not fatal. */
async function benchPhase(run: Run, phase: 'before' | 'after'): Promise<void> {
  const { ctx, recipe, machine } = run.o;
  const benchParams = Object.fromEntries(recipe.steps.map((rs) => [rs.step, rs.params]));
  const benchSteps = recipe.steps.flatMap((rs) => run.byId.get(rs.step) ?? []);
  // Lynis runs the tests the recipe's steps declare: a full run takes over 10 min under TCG.
  const lynisIds = [...new Set(benchSteps.flatMap((st) => st.benchmarks.lynis))];
  for (const tool of recipe.bench) {
    if (run.o.signal?.aborted) return;
    try {
      const copy = tool === 'docker-bench' ? ctx.dockerBench?.() : undefined;
      const r = await runBench(run.ex, machine, tool, {
        ...(tool === 'lynis' && lynisIds.length ? { tests: lynisIds } : {}),
        ...(ctx.ssgContent ? { ssgContent: ctx.ssgContent } : {}),
        ...(ctx.changelogCache ? { changelogCache: ctx.changelogCache } : {}),
        ...(copy ? { dockerBench: copy } : {}),
        library: benchSteps,
        params: benchParams,
        signal: run.o.signal,
      });
      const file = saveBench(path.join(ctx.paths.runs, run.runId), `bench-${phase}-${tool}`, r);
      run.emit({
        type: 'bench-finished',
        phase,
        tool,
        score: r.score,
        max: r.max,
        ...(r.lowerIsBetter && r.unit ? { unit: r.unit } : {}),
        file: path.basename(file),
      });
    } catch (err) {
      // A cancel is not a bench failure: the run stops here, before any step begins.
      stopIfCancelled(run.o.signal);
      run.emit({ type: 'bench-failed', phase, tool, message: (err as Error).message });
    }
  }
}

/** Which machine, image and kernel the run saw: evidence needs them before and after. */
async function recordFacts(run: Run, phase: 'before' | 'after'): Promise<void> {
  const f = await run.o.ctx.machines.facts(run.o.machine);
  const kernel = (await run.ex.exec('uname -r')).stdout.trim();
  run.emit({
    type: 'facts',
    phase,
    kernel,
    provider: f.provider,
    image: f.image,
    imageSha256: f.imageSha256,
    ...(f.host ? { host: f.host } : {}),
  });
}

/** Each step in order (skipped after a rollback under onFailure: stop); returns the validated ones. */
async function runSteps(run: Run): Promise<Validated> {
  const { o } = run;
  const { ctx, recipe, machine } = o;
  const failedBefore = (await run.ex.exec(FAILED_UNITS)).stdout.split('\n').filter(Boolean);
  const probeEnv: ProbeEnv = { target: run.target, knownHosts: ctx.knownHosts, failedBefore };
  const snapTag = run.runId.slice(-6);
  let stop = false;
  const validated: Validated = [];
  for (const [index, rs] of recipe.steps.entries()) {
    stopIfCancelled(o.signal);
    const step = run.byId.get(rs.step);
    if (!step) throw new HlabError('bad-request', `Recipe ${recipe.file} uses unknown step "${rs.step}".`);
    if (stop) {
      run.emit({
        type: 'step-finished',
        index,
        outcome: 'skipped',
        reason: 'an earlier step failed (onFailure: stop)',
        durationMs: 0,
      });
      continue;
    }
    const outcome = await runStep({
      ...o,
      ex: run.ex,
      emit: run.emit,
      index,
      step,
      params: rs.params,
      probeEnv,
      snapshot: `hlab-${snapTag}-${index}`,
      // Before a rollback rewinds the guest's disk, and its journal with it.
      verified: (failed) => run.logins.collect(run.ex, o.signal, failed),
    });
    run.taken.push(`hlab-${snapTag}-${index}`);
    if (outcome === 'cancelled') {
      run.status = 'cancelled';
      break;
    }
    if (outcome === 'rolled-back') {
      run.status = 'failed';
      stop = recipe.onFailure === 'stop';
    }
    if (outcome === 'validated') validated.push({ index, step, params: rs.params });
    // Only the newest before-snapshot matters for recovery; older ones just eat disk.
    while (run.taken.length > 1)
      await ctx.machines
        .owner(machine)
        .snapshots.remove(machine, run.taken.shift() as string)
        .catch(() => undefined);
  }
  return validated;
}

/** The final reboot: does every validated step's own check still hold after it? */
async function checkPersistence(run: Run, validated: Validated): Promise<void> {
  const { o } = run;
  await run.logins.collect(run.ex, o.signal);
  await rebootRecorded(o.ctx, o.machine, run.ex, run.emit, o.signal);
  let lost = 0;
  for (const v of validated) {
    for (const check of v.step.verify.filter((c) => c.run)) {
      const res = await runCheck(run.ex, renderScript(check.run as string, v.params), o.signal);
      run.emit({
        type: 'persist-check',
        index: v.index,
        name: check.name,
        pass: res.pass,
        output: res.output,
      });
      if (!res.pass) lost += 1;
    }
  }
  if (lost) {
    run.status = 'failed';
    run.message = `${lost} check(s) no longer hold after the final reboot: the change did not persist`;
  }
}

/** Drops the run's snapshots (kept after an error, for recovery), closes the journal, summarizes. */
async function finishRun(run: Run): Promise<RunSummary> {
  const { ctx, machine } = run.o;
  if (run.status !== 'error') {
    for (const s of run.taken)
      await ctx.machines
        .owner(machine)
        .snapshots.remove(machine, s)
        .catch(() => undefined);
  }
  run.emit({ type: 'run-finished', status: run.status, ...(run.message ? { message: run.message } : {}) });
  run.journal.close();
  return summarize(run.runId, readEvents(ctx.paths.runs, run.runId));
}

/** Shell exit codes above 128 are a signal: 141 with no output is a pipe reader that quit early. */
const SIGNALS: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  9: 'SIGKILL',
  13: 'SIGPIPE: a reader of a pipe stopped early',
  15: 'SIGTERM',
};

export function applyFailure(exitCode: number, stderr: string): string {
  const signal =
    exitCode > 128 && exitCode < 160
      ? ` (killed by ${SIGNALS[exitCode - 128] ?? `signal ${exitCode - 128}`})`
      : '';
  return `apply exited ${exitCode}${signal}: ${whatItSaid(stderr)}`;
}

/** Reboots and journals it, with the kernel that came up; `index` absent = the run's final reboot. */
async function rebootRecorded(
  ctx: EngineContext,
  machine: string,
  ex: SshExecutor,
  emit: (e: RunEvent) => void,
  signal: AbortSignal | undefined,
  index?: number,
): Promise<void> {
  ex.reset();
  const t = Date.now();
  emit({ type: 'reboot-started', ...(index === undefined ? {} : { index }) });
  await rebootMachine(ctx, machine, { signal });
  const kernel = (await ex.exec('uname -r')).stdout.trim();
  emit({
    type: 'reboot-finished',
    ...(index === undefined ? {} : { index }),
    kernel,
    durationMs: Date.now() - t,
  });
}

function runCheck(ex: SshExecutor, script: string, signal?: AbortSignal) {
  return ex.runScript(script, { timeoutMs: CHECK_TIMEOUT_MS, signal }).then(
    (x) => ({ pass: x.exitCode === 0, output: (x.stdout + x.stderr).trim().slice(-2000) }),
    (err: Error) => ({ pass: false, output: err.message }),
  );
}

interface StepRun extends RunOptions {
  ex: SshExecutor;
  emit: (e: RunEvent) => void;
  index: number;
  step: StepDef;
  params: Record<string, ParamValue>;
  probeEnv: ProbeEnv;
  snapshot: string;
  /** Called once the verification has its verdict, before any rollback. */
  verified: (failed: boolean) => Promise<void>;
}

/**
 * One step's lifecycle: announce it, take its snapshot, apply, reboot if it asks, verify, prove
 * health; then either validated, or rolled back to the snapshot (after a quick revert through a
 * surviving session for lockout-risk steps).
 */
async function runStep(s: StepRun): Promise<'validated' | 'rolled-back' | 'cancelled'> {
  const started = Date.now();
  announceStep(s);
  s.ex.reset();
  await s.ctx.machines.owner(s.machine).snapshots.take(s.machine, s.snapshot);
  s.emit({ type: 'snapshot-taken', index: s.index, snapshot: s.snapshot });

  // Lockout-risk steps: an already-open session survives an sshd change and can revert it.
  const guard = s.step.risk === 'lockout' ? new SshExecutor(s.probeEnv.target, s.ctx.knownHosts) : undefined;
  const failure = await applyAndVerify(s, guard);
  if (!s.signal?.aborted) await s.verified(failure !== undefined);
  if (!failure) {
    guard?.reset();
    s.emit({ type: 'step-finished', index: s.index, outcome: 'validated', durationMs: Date.now() - started });
    return 'validated';
  }
  await rollBack(s, guard, failure);
  s.emit({
    type: 'step-finished',
    index: s.index,
    outcome: 'rolled-back',
    reason: failure,
    durationMs: Date.now() - started,
  });
  return failure === 'cancelled' ? 'cancelled' : 'rolled-back';
}

/** The step as it will run, journaled before anything happens: script, checks, standards. */
function announceStep(s: StepRun): void {
  const { step } = s;
  const verdicts = standardVerdicts(step, s.params);
  s.emit({
    type: 'step-started',
    index: s.index,
    step: step.id,
    params: s.params,
    title: step.title,
    script: renderScript(step.apply, s.params),
    checks: step.verify.map((c) =>
      c.run
        ? { name: c.name, run: renderScript(c.run, s.params) }
        : { name: c.name, probe: c.probe as string },
    ),
    reboot: step.reboot,
    benchmarks: {
      lynis: step.benchmarks.lynis,
      'docker-bench': step.benchmarks['docker-bench'],
      ssg: step.benchmarks.ssg,
    },
    ...(verdicts.length ? { standards: verdicts } : {}),
  });
}

/** Apply, reboot, verify, health: the first failure in words, or undefined when all held. */
async function applyAndVerify(s: StepRun, guard: SshExecutor | undefined): Promise<string | undefined> {
  try {
    await guard?.exec('true');
    const failure = (await applyScript(s)) ?? (await rebootIfAsked(s, guard));
    if (failure) return failure;
    const checked = await runVerifyChecks(s);
    // A step that already failed is rolled back anyway: proving its health would only delay that.
    return checked ?? (await proveHealth(s));
  } catch (err) {
    return (err as HlabError).code === 'cancelled' || s.signal?.aborted
      ? 'cancelled'
      : (err as Error).message;
  }
}

async function applyScript(s: StepRun): Promise<string | undefined> {
  const script = renderScript(s.step.apply, s.params);
  const t = Date.now();
  const journaled = journalBudget(STEP_OUTPUT_JOURNAL_BYTES, (stream, text) =>
    s.emit({ type: 'apply-output', index: s.index, stream, text }),
  );
  const r = await s.ex.runScript(script, {
    timeoutMs: APPLY_TIMEOUT_MS,
    signal: s.signal,
    onStdout: (text) => journaled('stdout', text),
    onStderr: (text) => journaled('stderr', text),
  });
  s.emit({
    type: 'apply-finished',
    index: s.index,
    exitCode: r.exitCode,
    scriptSha256: createHash('sha256').update(script).digest('hex'),
    durationMs: Date.now() - t,
  });
  return r.exitCode !== 0 ? applyFailure(r.exitCode, r.stderr) : undefined;
}

async function rebootIfAsked(s: StepRun, guard: SshExecutor | undefined): Promise<string | undefined> {
  if (!s.step.reboot) return undefined;
  guard?.reset();
  try {
    await rebootRecorded(s.ctx, s.machine, s.ex, s.emit, s.signal, s.index);
    return undefined;
  } catch (err) {
    if (s.signal?.aborted) throw err;
    const e = err as HlabError;
    const tail = typeof e.details?.serialTail === 'string' ? `\n${e.details.serialTail}` : '';
    return `machine did not come back after the reboot: ${e.message}${tail}`;
  }
}

/** Every verify check runs and is journaled; the first that failed is the step's failure. */
async function runVerifyChecks(s: StepRun): Promise<string | undefined> {
  let failure: string | undefined;
  for (const check of s.step.verify) {
    const res = check.run
      ? await runCheck(s.ex, renderScript(check.run, s.params), s.signal)
      : await runProbe(check.probe as Probe, s.probeEnv);
    s.emit({
      type: 'check',
      index: s.index,
      name: check.name,
      kind: check.run ? 'run' : 'probe',
      pass: res.pass,
      output: res.output,
    });
    if (!res.pass)
      failure ??= `check "${check.name}" failed: ${res.output.split('\n').slice(-3).join(' | ')}`;
  }
  return failure;
}

/** The health probes the step's own checks did not already cover, over one fresh login. */
async function proveHealth(s: StepRun): Promise<string | undefined> {
  const health = HEALTH.filter((p) => !s.step.verify.some((c) => c.probe === p));
  let failure: string | undefined;
  for (const [probe, res] of health.length ? await runConnectionProbes(health, s.probeEnv) : []) {
    s.emit({
      type: 'check',
      index: s.index,
      name: `health: ${probe}`,
      kind: 'probe',
      pass: res.pass,
      output: res.output,
    });
    if (!res.pass) failure ??= `health probe ${probe} failed: ${res.output}`;
  }
  return failure;
}

/**
 * Roll back: a quick revert through the surviving session first (lockouts), then the snapshot,
 * which is what guarantees the pre-step state.
 */
async function rollBack(s: StepRun, guard: SshExecutor | undefined, failure: string): Promise<void> {
  const { ctx, machine, index, step } = s;
  s.emit({ type: 'rollback-started', index, reason: failure, snapshot: s.snapshot });
  const rb = Date.now();
  // Snapshot-only steps (modules_disabled, immutable audit rules) cannot be undone in place.
  if (guard && step.revert && !step.snapshotOnlyRollback)
    await guard
      .runScript(renderScript(step.revert, s.params), { timeoutMs: CHECK_TIMEOUT_MS })
      .catch(() => undefined);
  guard?.reset();
  s.ex.reset();
  ctx.terminals.closeMachine(machine, `step "${step.id}" failed and machine "${machine}" is being restored`);
  const phases: Record<string, number> = {};
  const healthy = await restoreProven(s, phases);
  s.emit({ type: 'rollback-finished', index, healthy, durationMs: Date.now() - rb, phases });
}

/**
 * The snapshot back, proven: a machine that did not come back (panic, power-off) resumes straight
 * from the live snapshot instead of booting the broken disk first. Ready means a fresh connection
 * with the machine's key logged in and sudo worked in it (it also set the clock); that connection
 * is the proof of health, not a second one.
 */
async function restoreProven(s: StepRun, phases: Record<string, number>): Promise<boolean> {
  try {
    await s.ctx.machines.restore(s.machine, s.snapshot, {
      start: true,
      timeoutMs: RESTORE_TIMEOUT_MS,
      proveSudo: true,
      phase: (name, ms) => (phases[name] = Math.round(ms)),
    });
    for (const probe of ['fresh-ssh-login', 'sudo'] as Probe[])
      s.emit({
        type: 'check',
        index: s.index,
        name: `rollback: ${probe}`,
        kind: 'probe',
        pass: true,
        output: 'proven by the fresh connection that found the restored machine ready',
      });
    return true;
  } catch (err) {
    s.emit({
      type: 'check',
      index: s.index,
      name: 'rollback',
      kind: 'probe',
      pass: false,
      output: (err as Error).message,
    });
    return false;
  }
}
