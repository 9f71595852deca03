/** One entry point for every bench tool, and where results are kept. */
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import {
  BENCH_TOOLS,
  compareBench,
  type BenchComparison,
  type BenchResult,
  type BenchTool,
} from '../../shared/bench.js';
import type { StampedEvent } from '../../shared/runs.js';
import { claimText, stepClaims, type ClaimInput, type StepClaim } from '../../shared/claims.js';
import { HlabError } from '../../shared/errors.js';
import type { ParamValue, StepDef } from '../../shared/steps.js';
import type { SshExecutor } from '../ssh/executor.js';
import { runChecks } from './checks.js';
import type { DockerBenchCopy } from './docker-bench-copy.js';
import { runDockerBench } from './docker-bench.js';
import { runDockerConfig } from './docker-config.js';
import { runLynis } from './lynis.js';
import { runOpenscap } from './openscap.js';
import { runSurface } from './surface.js';
import { runKube } from './kube.js';
import { loadKubeDir } from './kube-format.js';
import { formatIssue } from '../../shared/steps.js';
import { LABS_DIR } from '../steps/load.js';
import { runVulns } from './vulns.js';
import type { SsgContent } from './ssg-content.js';

export interface BenchOptions {
  /** Lynis test ids, docker-bench check ids, our check ids or SSG rules; all tests of the default set when absent. */
  tests?: string[];
  library: StepDef[];
  params?: Record<string, Record<string, ParamValue>>;
  /** A local docker-bench-security copy to upload instead of fetching it in the guest. */
  dockerBench?: DockerBenchCopy;
  /** OpenSCAP: a shipped SSG profile to evaluate instead of the library's claimed rules. */
  profile?: string;
  /** OpenSCAP: where the SSG content comes from (the host's cache). */
  ssgContent?: (o: { signal?: AbortSignal; log?: (text: string) => void }) => Promise<SsgContent>;
  /** kube-node: the labs folder whose kube/ holds the check files; the built-in one when absent. */
  labsDir?: string;
  /** vulns: where candidate changelogs are kept (the host's image cache). */
  changelogCache?: string;
  signal?: AbortSignal;
  onOutput?: (text: string) => void;
}

export async function runBench(
  ex: SshExecutor,
  machine: string,
  tool: BenchTool,
  o: BenchOptions,
): Promise<BenchResult> {
  switch (tool) {
    case 'lynis':
      return runLynis(ex, machine, { tests: o.tests, signal: o.signal, onOutput: o.onOutput });
    case 'docker-bench':
      return runDockerBench(ex, machine, { checks: o.tests, copy: o.dockerBench, signal: o.signal });
    case 'docker-config':
      return runDockerConfig(ex, machine, { signal: o.signal });
    case 'checks':
      return runChecks(ex, machine, o.library, { params: o.params, tests: o.tests, signal: o.signal });
    case 'openscap': {
      if (!o.ssgContent)
        throw new HlabError(
          'unavailable',
          'OpenSCAP benches need the SSG content cache, which this host does not offer.',
        );
      const content = await o.ssgContent({ signal: o.signal, log: o.onOutput });
      // Without ids or a profile: exactly the rules the library's steps claim.
      const rules = o.tests?.length ? o.tests : [...new Set(o.library.flatMap((s) => s.benchmarks.ssg))];
      return runOpenscap(ex, machine, {
        content,
        ...(o.profile ? { profile: o.profile } : { rules }),
        signal: o.signal,
        onOutput: o.onOutput,
      });
    }
    case 'vulns':
      if (!o.changelogCache)
        throw new HlabError(
          'unavailable',
          'The vulns tool keeps changelogs in the image cache, which this host does not offer.',
        );
      return runVulns(ex, machine, { cacheDir: o.changelogCache, signal: o.signal, onOutput: o.onOutput });
    case 'surface':
      return runSurface(ex, machine, { signal: o.signal });
    case 'kube-node': {
      const { controls, issues } = loadKubeDir(o.labsDir ?? LABS_DIR);
      if (issues.length) throw new HlabError('bad-request', issues.map(formatIssue).join('\n'));
      if (!controls.length) throw new HlabError('not-found', 'No kube check files in labs/kube/.');
      return runKube(ex, machine, controls, { signal: o.signal });
    }
    default:
      throw new HlabError(
        'bad-request',
        `Unknown bench tool "${String(tool)}": use ${BENCH_TOOLS.join(', ')}.`,
      );
  }
}

export function saveBench(dir: string, name: string, r: BenchResult): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(r, null, 1)}\n`);
  return file;
}

export function loadBenches(dir: string): BenchResult[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as BenchResult);
}

/** A run's benches, as its journal names them, and the before/after comparison per tool. */
export function runBenches(
  runDir: string,
  events: StampedEvent[],
): { before: BenchResult[]; after: BenchResult[]; comparisons: BenchComparison[] } {
  const pick = (phase: 'before' | 'after'): BenchResult[] =>
    events.flatMap((e) =>
      e.type === 'bench-finished' && e.phase === phase && existsSync(path.join(runDir, e.file))
        ? [JSON.parse(readFileSync(path.join(runDir, e.file), 'utf8')) as BenchResult]
        : [],
    );
  const start = events.find((e) => e.type === 'run-started');
  const exceptions = start?.type === 'run-started' ? (start.exceptions ?? []) : [];
  const before = pick('before');
  const after = pick('after');
  const comparisons = after.flatMap((a) => {
    const b = before.find((x) => x.tool === a.tool);
    return b ? [compareBench(b, a, exceptions)] : [];
  });
  return { before, after, comparisons };
}

/** What each step of a run claimed, read off its benches (for runs.bench; evidence has its own steps). */
export function runClaims(events: StampedEvent[], benches: ReturnType<typeof runBenches>): StepClaim[] {
  const steps = new Map<number, ClaimInput>();
  for (const e of events) {
    if (e.type === 'step-started')
      steps.set(e.index, {
        step: e.step,
        ...(e.benchmarks ? { benchmarks: e.benchmarks } : {}),
        text: claimText(e.script, e.checks),
      });
    if (e.type === 'step-finished') {
      const s = steps.get(e.index);
      if (s) s.outcome = e.outcome;
    }
  }
  return stepClaims([...steps.values()], benches);
}
