/**
 * Replay: re-applies an evidence bundle's recipe on another machine from the same base image,
 * using the exact scripts the bundle carries, and compares the new evidence with the original:
 * same outcome and check results per step, same flipped tests.
 */
import { HlabError } from '../../shared/errors.js';
import type { EvidenceBody, EvidenceBundle } from '../../shared/evidence.js';
import type { Probe, RecipeDef, StepDef } from '../../shared/steps.js';
import type { BenchTool } from '../../shared/bench.js';
import type { EngineContext } from '../engine/context.js';
import { runRecipe } from '../engine/run.js';
import type { StampedEvent } from '../../shared/runs.js';
import { buildEvidence, sealEvidence, verifyEvidence } from './evidence.js';

export interface ReplayResult {
  runId: string;
  match: boolean;
  differences: string[];
  evidence: EvidenceBundle;
}

export function stepsFromEvidence(body: EvidenceBody): StepDef[] {
  return body.steps.map((s) => ({
    id: `${s.id}#${s.index + 1}`,
    title: s.title,
    area: 'bench',
    risk: s.checks.some((c) => c.probe === 'fresh-ssh-login') ? 'lockout' : 'none',
    reboot: s.reboot,
    snapshotOnlyRollback: false,
    conflicts: [],
    // The ids the original steps claimed: the replay's benches then measure the same tests.
    benchmarks: {
      lynis: s.benchmarks?.lynis ?? [],
      'cis-debian': [],
      'docker-bench': s.benchmarks?.['docker-bench'] ?? [],
      ssg: s.benchmarks?.ssg ?? [],
    },
    params: {},
    // Scripts in the bundle are already rendered with their params.
    apply: s.script,
    verify: s.checks.map((c) =>
      c.run ? { name: c.name, run: c.run } : { name: c.name, probe: c.probe as Probe },
    ),
    file: `(evidence ${body.run.id}) ${s.id}`,
  }));
}

export function compareEvidence(a: EvidenceBody, b: EvidenceBody): string[] {
  const diffs: string[] = [];
  a.steps.forEach((s, i) => {
    const t = b.steps[i];
    if (!t) return diffs.push(`step ${i + 1} ${s.id}: missing in the replay`);
    if (s.outcome !== t.outcome)
      diffs.push(`step ${i + 1} ${s.id}: ${s.outcome} originally, ${t.outcome} now`);
    for (const r of s.results) {
      const r2 = t.results.find((x) => x.name === r.name);
      if (r2 && r2.pass !== r.pass)
        diffs.push(
          `step ${i + 1} ${s.id}: check "${r.name}" ${r.pass ? 'passed' : 'failed'} originally, ${r2.pass ? 'passes' : 'fails'} now`,
        );
    }
    return undefined;
  });
  for (const c of a.bench.comparisons) {
    const c2 = b.bench.comparisons.find((x) => x.tool === c.tool);
    if (!c2) {
      diffs.push(`bench ${c.tool}: not compared in the replay`);
      continue;
    }
    const ids = (l: { id: string }[]) => new Set(l.map((f) => f.id.replace(/#\d+(?=\/)/, '')));
    const [f1, f2] = [ids(c.fixed), ids(c2.fixed)];
    for (const id of f1)
      if (!f2.has(id)) diffs.push(`bench ${c.tool}: ${id} flipped originally, not in the replay`);
    for (const id of f2) if (!f1.has(id)) diffs.push(`bench ${c.tool}: ${id} flipped in the replay only`);
    for (const r of c2.regressions.filter(
      (x) => !c.regressions.some((y) => y.id === x.id.replace(/#\d+(?=\/)/, '')),
    ))
      diffs.push(`bench ${c.tool}: regression ${r.id} in the replay`);
  }
  return diffs;
}

export async function replayEvidence(
  ctx: EngineContext,
  bundle: EvidenceBundle,
  machine: string,
  appVersion: string,
  o: { signal?: AbortSignal; onEvent?: (e: StampedEvent, runId: string) => void } = {},
): Promise<ReplayResult> {
  const verdict = verifyEvidence(bundle, ctx.home);
  if (!verdict.intact)
    throw new HlabError(
      'bad-request',
      `The evidence bundle was modified after it was sealed (${verdict.problems.join(', ')}); refusing to replay it.`,
    );
  if (!verdict.trusted)
    throw new HlabError(
      'permission',
      `The evidence bundle is signed by an unknown key ${verdict.signer ?? ''}; refusing to replay it.`,
      { hint: "if it is a colleague's, import their key first: hlab keys trust THEIR-KEY.pem --name NAME" },
    );
  const facts = await ctx.machines.facts(machine);
  const sha = facts.imageSha256 ?? 'unknown';
  if (sha === 'unknown' || sha !== bundle.body.base.sha256)
    throw new HlabError(
      'conflict',
      `Machine "${machine}" was made from image ${facts.image} (${sha.slice(0, 12)}), the evidence from ${bundle.body.base.image} (${bundle.body.base.sha256.slice(0, 12)}): replay needs the same, known base.`,
      { machine },
    );
  const library = stepsFromEvidence(bundle.body);
  const recipe: RecipeDef = {
    id: `${bundle.body.recipe.id}-replay`,
    title: `replay of ${bundle.body.run.id}`,
    base: bundle.body.base.image,
    onFailure: 'continue',
    finalReboot: bundle.body.run.finalReboot,
    bench: bundle.body.recipe.bench as BenchTool[],
    steps: library.map((s) => ({ step: s.id, params: {} })),
    exceptions: bundle.body.recipe.exceptions ?? [],
    file: `(evidence ${bundle.body.run.id})`,
  };
  const summary = await runRecipe({ ctx, recipe, library, machine, signal: o.signal, onEvent: o.onEvent });
  const body = buildEvidence(ctx.paths.runs, summary.id, appVersion);
  // Replayed step ids carry "#n" to stay unique; compare on the original ids.
  body.steps.forEach((s) => (s.id = s.id.replace(/#\d+$/, '')));
  const differences = compareEvidence(bundle.body, body);
  return {
    runId: summary.id,
    match: differences.length === 0,
    differences,
    evidence: sealEvidence(body, ctx.home),
  };
}
