/** Loads and validates steps and recipes: YAML -> schema -> defaults -> cross references. */
import { BENCH_TOOLS, type BenchTool } from '../../shared/bench.js';
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { appPath } from '../platform/app-root.js';
import { LineCounter, parseDocument, type Node } from 'yaml';
import { HlabError } from '../../shared/errors.js';
import {
  PARAM_TYPES,
  PROBES,
  RISKS,
  STEP_AREAS,
  formatIssue,
  type LabIssue,
  type ParamDef,
  type ParamValue,
  type RecipeDef,
  type StepDef,
} from '../../shared/steps.js';
import { Checker, type Schema } from './schema.js';

export const LABS_DIR = appPath('labs');

export const ID = {
  kind: 'string',
  pattern: /^[a-z0-9][a-z0-9-]{1,62}$/,
  patternHint: 'lower-case letters, digits and "-"',
} as const;
export const text = { kind: 'string', nonEmpty: true } as const;
/** One line, no control characters: titles land in comments and headings of the exports. */
export const title = {
  kind: 'string',
  nonEmpty: true,
  // eslint-disable-next-line no-control-regex
  pattern: /^[^\u0000-\u001f\u007f\u2028\u2029]+$/,
  patternHint: 'one line without control characters',
} as const;
export const strings = { kind: 'array', items: { kind: 'string', nonEmpty: true } } as const;

function paramProblem(p: Record<string, unknown>): string | undefined {
  const d = p.default;
  const ok =
    (p.type === 'integer' && typeof d === 'number' && Number.isInteger(d)) ||
    (p.type === 'string' && typeof d === 'string') ||
    (p.type === 'boolean' && typeof d === 'boolean') ||
    (p.type === 'list' && Array.isArray(d) && d.every((x) => typeof x === 'string'));
  if (!ok) return `default does not match type ${String(p.type)}`;
  if (p.type === 'string' && Array.isArray(p.enum) && !p.enum.includes(d))
    return 'default is not one of enum';
  if (typeof p.pattern === 'string') {
    try {
      new RegExp(p.pattern);
    } catch (err) {
      return `pattern is not a regular expression: ${(err as Error).message}`;
    }
  }
  const fits = paramFits({ ...(p as unknown as ParamDef), enum: undefined }, d as ParamValue);
  return fits ? `default ${fits}` : undefined;
}

const PARAM: Schema = {
  kind: 'object',
  fields: {
    type: { schema: { kind: 'string', enum: PARAM_TYPES }, required: true },
    default: { schema: { kind: 'value' }, required: true },
    description: { schema: text },
    min: { schema: { kind: 'integer' } },
    max: { schema: { kind: 'integer' } },
    enum: { schema: strings },
    pattern: { schema: { kind: 'string', nonEmpty: true } },
    maxLength: { schema: { kind: 'integer' } },
    /** Where standards disagree on a value: which values each one accepts. */
    standards: {
      schema: {
        kind: 'map',
        // Standard names land in the report and exports: one line, no control characters.
        // eslint-disable-next-line no-control-regex
        keyPattern: /^[^\u0000-\u001f\u007f]{1,80}$/,
        values: { kind: 'array', items: { kind: 'scalar' }, minItems: 1 },
      },
    },
  },
  check: paramProblem,
};

const STEP: Schema = {
  kind: 'object',
  fields: {
    id: { schema: ID, required: true },
    title: { schema: title, required: true },
    description: { schema: text },
    area: { schema: { kind: 'string', enum: STEP_AREAS }, required: true },
    risk: { schema: { kind: 'string', enum: RISKS }, required: true },
    reboot: { schema: { kind: 'boolean' } },
    snapshotOnlyRollback: { schema: { kind: 'boolean' } },
    demo: { schema: { kind: 'boolean' } },
    conflicts: { schema: { kind: 'array', items: ID } },
    benchmarks: {
      schema: {
        kind: 'object',
        fields: {
          lynis: { schema: strings },
          'cis-debian': { schema: strings },
          'docker-bench': { schema: strings },
          ssg: {
            schema: {
              kind: 'array',
              items: {
                kind: 'string',
                pattern: /^[a-z0-9_]{1,120}$/,
                patternHint: 'an SSG rule id without its prefix (sshd_disable_root_login)',
              },
            },
          },
        },
      },
    },
    params: { schema: { kind: 'map', keyPattern: /^[A-Za-z_][A-Za-z0-9_]*$/, values: PARAM } },
    apply: { schema: text, required: true },
    verify: {
      schema: {
        kind: 'array',
        minItems: 1,
        items: {
          kind: 'object',
          fields: {
            name: { schema: text, required: true },
            run: { schema: text },
            probe: { schema: { kind: 'string', enum: PROBES } },
          },
          check: (v) =>
            (v.run === undefined) === (v.probe === undefined)
              ? 'needs exactly one of run or probe'
              : undefined,
        },
      },
      required: true,
    },
    revert: { schema: text },
  },
};

const RECIPE: Schema = {
  kind: 'object',
  fields: {
    id: { schema: ID, required: true },
    title: { schema: title, required: true },
    description: { schema: text },
    base: { schema: text, required: true },
    onFailure: { schema: { kind: 'string', enum: ['stop', 'continue'] } },
    finalReboot: { schema: { kind: 'boolean' } },
    bench: { schema: { kind: 'array', items: { kind: 'string', enum: BENCH_TOOLS } } },
    steps: {
      schema: {
        kind: 'array',
        minItems: 1,
        items: {
          kind: 'object',
          fields: {
            step: { schema: ID, required: true },
            params: { schema: { kind: 'map', values: { kind: 'value' } } },
          },
        },
      },
      required: true,
    },
    exceptions: {
      schema: {
        kind: 'array',
        items: {
          kind: 'object',
          fields: {
            id: { schema: ID, required: true },
            reason: { schema: text, required: true },
            step: { schema: ID },
            tests: { schema: strings },
          },
        },
      },
    },
  },
};

/** Lab files are small text: anything bigger is a mistake or an attack, not a step. */
export const MAX_LAB_FILE_BYTES = 1024 * 1024;

/**
 * Reads a step or recipe file, refusing what would hang or mislead the loader: a FIFO or device
 * (a blocking read stops the whole server), a symlink out of its labs folder, a file over 1 MiB,
 * and bytes that are not UTF-8.
 */
export function readLabFile(file: string): string {
  const st = lstatSync(file);
  let real = file;
  if (st.isSymbolicLink()) {
    real = realpathSync(file);
    const labsRoot = realpathSync(path.dirname(path.dirname(path.resolve(file))));
    if (!real.startsWith(labsRoot + path.sep)) throw new Error(`a symlink out of the labs folder (${real})`);
  }
  const target = statSync(real);
  if (!target.isFile()) throw new Error('not a regular file');
  if (target.size > MAX_LAB_FILE_BYTES)
    throw new Error(`${target.size} bytes, over the ${MAX_LAB_FILE_BYTES}-byte limit`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(real));
  } catch {
    throw new Error('not UTF-8 text');
  }
}

export function parseYaml(
  file: string,
  displayName: string,
  text?: string,
): { node?: Node; lines: LineCounter; issues: LabIssue[] } {
  const lines = new LineCounter();
  let source: string;
  try {
    source = text ?? readLabFile(file);
  } catch (err) {
    return {
      lines,
      issues: [
        { file: displayName, line: 1, path: '(file)', message: `cannot read: ${(err as Error).message}` },
      ],
    };
  }
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const issues = doc.errors.map((e) => ({
    file: displayName,
    line: lines.linePos(e.pos[0]).line,
    path: '(yaml)',
    message: e.message.split('\n')[0] ?? e.message,
  }));
  return { node: (doc.contents ?? undefined) as Node | undefined, lines, issues };
}

export const display = (file: string) => {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
};

export function loadStep(file: string): { step?: StepDef; issues: LabIssue[] } {
  const name = display(file);
  const { node, lines, issues } = parseYaml(file, name);
  if (issues.length) return { issues };
  const c = new Checker(lines);
  const v = c.check(node, STEP, '', 1) as Record<string, unknown> | undefined;
  const all = [...issues, ...c.issues.map((i) => ({ file: name, ...i }))];
  if (!v || all.length) return { issues: all };
  const expected = path.basename(file).replace(/\.ya?ml$/, '');
  if (v.id !== expected)
    return {
      issues: [{ file: name, line: 1, path: 'id', message: `must match the file name ("${expected}")` }],
    };
  const bm = (v.benchmarks ?? {}) as Partial<StepDef['benchmarks']>;
  return {
    step: {
      id: v.id as string,
      title: v.title as string,
      ...(v.description ? { description: v.description as string } : {}),
      area: v.area as StepDef['area'],
      risk: v.risk as StepDef['risk'],
      reboot: (v.reboot as boolean | undefined) ?? false,
      snapshotOnlyRollback: (v.snapshotOnlyRollback as boolean | undefined) ?? false,
      ...(v.demo === true ? { demo: true } : {}),
      conflicts: (v.conflicts as string[] | undefined) ?? [],
      benchmarks: {
        lynis: bm.lynis ?? [],
        'cis-debian': bm['cis-debian'] ?? [],
        'docker-bench': bm['docker-bench'] ?? [],
        ssg: bm.ssg ?? [],
      },
      params: (v.params ?? {}) as Record<string, ParamDef>,
      apply: v.apply as string,
      verify: v.verify as StepDef['verify'],
      ...(v.revert ? { revert: v.revert as string } : {}),
      file: name,
    },
    issues: [],
  };
}

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

export function loadLibrary(labsDir = LABS_DIR): { steps: StepDef[]; issues: LabIssue[] } {
  const steps: StepDef[] = [];
  const issues: LabIssue[] = [];
  for (const file of yamlFiles(path.join(labsDir, 'steps'))) {
    const r = loadStep(file);
    if (r.step) steps.push(r.step);
    issues.push(...r.issues);
  }
  issues.push(...unknownConflicts(steps));
  return { steps, issues };
}

/** A `conflicts` entry naming no step is a typo that would silently allow the pair. */
function unknownConflicts(steps: StepDef[]): LabIssue[] {
  const ids = new Set(steps.map((s) => s.id));
  return steps.flatMap((s) =>
    s.conflicts
      .map((c, i) => ({ c, i }))
      .filter(({ c }) => !ids.has(c))
      .map(({ c, i }) => ({
        file: s.file,
        line: 1,
        path: `conflicts[${i}]`,
        message: `no step "${c}" in the library`,
      })),
  );
}

const conflictsWith = (a: StepDef, b: StepDef) => a.conflicts.includes(b.id) || b.conflicts.includes(a.id);

/** Each pair of steps that exclude each other, reported at the later one's line. */
function conflictIssues(name: string, picked: Array<{ def?: StepDef; line: number }>): LabIssue[] {
  const out: LabIssue[] = [];
  picked.forEach((later, j) => {
    picked.slice(0, j).forEach((earlier, i) => {
      if (!later.def || !earlier.def || !conflictsWith(earlier.def, later.def)) return;
      out.push({
        file: name,
        line: later.line,
        path: `steps[${j}].step`,
        message: `"${later.def.id}" conflicts with "${earlier.def.id}" (steps[${i}], line ${earlier.line}): a recipe holds one or the other`,
      });
    });
  });
  return out;
}

/**
 * Values end up inside other languages (sshd_config lines, daemon.json): whatever a step declares,
 * a string or list item never carries control characters, quotes, backslashes, backticks or `$`.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE_TEXT = /[\u0000-\u001f\u007f"'`\\$]/;
const DEFAULT_MAX_LENGTH = 256;

function textProblem(def: ParamDef, v: string): string | undefined {
  if (UNSAFE_TEXT.test(v))
    return `must not contain control characters, quotes, backslashes, backticks or $ (got ${JSON.stringify(v)})`;
  if (v.length > (def.maxLength ?? DEFAULT_MAX_LENGTH))
    return `longer than ${def.maxLength ?? DEFAULT_MAX_LENGTH} characters`;
  if (def.pattern !== undefined && !new RegExp(def.pattern).test(v))
    return `expected a value matching ${def.pattern} (got ${JSON.stringify(v)})`;
  return undefined;
}

export function paramFits(def: ParamDef, v: ParamValue): string | undefined {
  if (def.type === 'integer') {
    if (typeof v !== 'number' || !Number.isInteger(v)) return 'expected integer';
    if (def.min !== undefined && v < def.min) return `must be at least ${def.min}`;
    if (def.max !== undefined && v > def.max) return `must be at most ${def.max}`;
  }
  if (def.type === 'string') {
    if (typeof v !== 'string') return 'expected string';
    if (def.enum && !def.enum.includes(v)) return `expected one of ${def.enum.join(', ')}`;
    return textProblem(def, v);
  }
  if (def.type === 'boolean' && typeof v !== 'boolean') return 'expected true or false';
  if (def.type === 'list') {
    if (!(Array.isArray(v) || typeof v === 'string')) return 'expected a list';
    // Items are joined with spaces: an item holding a space or a glob would split or expand.
    for (const item of Array.isArray(v) ? v : [v]) {
      if (/[\s*?[\]]/.test(item))
        return `list item ${JSON.stringify(item)} must not contain spaces or glob characters`;
      const p = textProblem(def, item);
      if (p) return p;
    }
  }
  return undefined;
}

/** A step's parameters at their declared defaults. */
export function defaultParams(step: StepDef): Record<string, ParamValue> {
  return Object.fromEntries(Object.entries(step.params).map(([k, d]) => [k, d.default]));
}

/** `source`: YAML text not (yet) on disk, e.g. from the recipe builder; `file` names it in errors. */
export function loadRecipe(
  file: string,
  library: StepDef[],
  source?: string,
): { recipe?: RecipeDef; issues: LabIssue[] } {
  const name = display(file);
  const { node, lines, issues } = parseYaml(file, name, source);
  if (issues.length) return { issues };
  const c = new Checker(lines);
  const v = c.check(node, RECIPE, '', 1) as Record<string, unknown> | undefined;
  const found = c.issues.map((i) => ({ file: name, ...i }));
  if (!v || found.length) return { issues: found };
  // Cross references need the steps' lines: walk the raw list again.
  const stepNodes = ((node as unknown as { get(k: string, keep: boolean): { items: Node[] } }).get(
    'steps',
    true,
  )?.items ?? []) as Node[];
  const byId = new Map(library.map((s) => [s.id, s]));
  const picked: Array<{ def?: StepDef; line: number }> = [];
  const steps = (v.steps as Array<{ step: string; params?: Record<string, ParamValue> }>).map((rs, i) => {
    const line = lines.linePos(stepNodes[i]?.range?.[0] ?? 0).line;
    const def = byId.get(rs.step);
    picked.push({ def, line });
    if (!def) {
      found.push({
        file: name,
        line,
        path: `steps[${i}].step`,
        message: `no step "${rs.step}" in the library`,
      });
      return { step: rs.step, params: {} };
    }
    const params = defaultParams(def);
    for (const [k, val] of Object.entries(rs.params ?? {})) {
      const pd = Object.hasOwn(def.params, k) ? def.params[k] : undefined;
      if (!pd) {
        found.push({
          file: name,
          line,
          path: `steps[${i}].params.${k}`,
          message: `step "${rs.step}" has no parameter "${k}" (known: ${Object.keys(def.params).join(', ') || 'none'})`,
        });
        continue;
      }
      const problem = paramFits(pd, val);
      if (problem) found.push({ file: name, line, path: `steps[${i}].params.${k}`, message: problem });
      params[k] = val;
    }
    return { step: rs.step, params };
  });
  found.push(...conflictIssues(name, picked));
  const exceptions = (v.exceptions ?? []) as RecipeDef['exceptions'];
  exceptions.forEach((e, i) => {
    if (e.step && !byId.has(e.step))
      found.push({
        file: name,
        line: 1,
        path: `exceptions[${i}].step`,
        message: `no step "${e.step}" in the library`,
      });
  });
  if (found.length) return { issues: found };
  return {
    recipe: {
      id: v.id as string,
      title: v.title as string,
      ...(v.description ? { description: v.description as string } : {}),
      base: v.base as string,
      onFailure: (v.onFailure as RecipeDef['onFailure'] | undefined) ?? 'stop',
      finalReboot: (v.finalReboot as boolean | undefined) ?? false,
      bench: (v.bench as BenchTool[] | undefined) ?? [],
      steps,
      exceptions,
      file: name,
    },
    issues: [],
  };
}

export function assertNoIssues(issues: LabIssue[]): void {
  if (issues.length) {
    throw new HlabError('bad-request', issues.map(formatIssue).join('\n'), { issues });
  }
}
