/** Step and recipe definitions (labs/steps/*.yaml, labs/recipes/*.yaml), as plain data. */
import type { BenchTool } from './bench.js';

export const STEP_AREAS = [
  'kernel',
  'modules',
  'sysctl',
  'ssh',
  'accounts',
  'audit',
  'mac',
  'docker',
  'immutable',
  'bench',
] as const;
export const RISKS = ['none', 'service', 'reboot', 'lockout', 'boot'] as const;
export const PROBES = [
  'fresh-ssh-login',
  'sudo',
  'password-login-refused',
  'root-login-refused',
  'no-failed-units',
] as const;
export const PARAM_TYPES = ['integer', 'string', 'boolean', 'list'] as const;

export type StepArea = (typeof STEP_AREAS)[number];
export type Risk = (typeof RISKS)[number];
export type Probe = (typeof PROBES)[number];
export type ParamValue = number | string | boolean | string[];

export interface ParamDef {
  type: (typeof PARAM_TYPES)[number];
  default: ParamValue;
  description?: string;
  min?: number;
  max?: number;
  enum?: string[];
  /** string and list items: a regular expression the whole value must match. */
  pattern?: string;
  /** string: longest value accepted (default 256). */
  maxLength?: number;
  /** Where standards disagree on a value: the values each standard accepts (evidence says which hold). */
  standards?: Record<string, Array<string | number | boolean>>;
}

export interface StandardVerdict {
  param: string;
  value: ParamValue;
  satisfies: string[];
  contradicts: string[];
}

/** For each parameter with standards: which standards the value given satisfies and which it does not. */
export function standardVerdicts(
  def: Pick<StepDef, 'params'>,
  values: Record<string, ParamValue>,
): StandardVerdict[] {
  return Object.entries(def.params).flatMap(([name, p]) => {
    if (!p.standards) return [];
    const value = values[name] ?? p.default;
    const all = Object.entries(p.standards);
    const holds = ([, ok]: [string, Array<string | number | boolean>]) =>
      ok.some((v) => String(v) === String(value));
    return [
      {
        param: name,
        value,
        satisfies: all.filter(holds).map(([s]) => s),
        contradicts: all.filter((e) => !holds(e)).map(([s]) => s),
      },
    ];
  });
}

export interface VerifyCheck {
  name: string;
  /** Shell run as root on the guest; exit 0 = pass. */
  run?: string;
  /** A host-side probe run by the engine. */
  probe?: Probe;
}

export interface StepDef {
  id: string;
  title: string;
  description?: string;
  area: StepArea;
  risk: Risk;
  reboot: boolean;
  /** Changes only a reboot undoes (modules_disabled, audit -e 2): roll back by snapshot only. */
  snapshotOnlyRollback: boolean;
  /** Deliberately broken, for workshops: shows what the loop catches. */
  demo?: boolean;
  /**
   * Steps this one cannot share a recipe with (AppArmor and SELinux: the kernel boots one major
   * LSM). Symmetric: either side declaring it is enough.
   */
  conflicts: string[];
  /** ssg: SCAP Security Guide rule ids (sshd_disable_root_login), judged by the openscap bench. */
  benchmarks: { lynis: string[]; 'cis-debian': string[]; 'docker-bench': string[]; ssg: string[] };
  params: Record<string, ParamDef>;
  apply: string;
  verify: VerifyCheck[];
  revert?: string;
  file: string;
}

export interface RecipeStep {
  step: string;
  params: Record<string, ParamValue>;
}

export interface RecipeException {
  id: string;
  reason: string;
  step?: string;
  /** Bench test ids the exception knowingly leaves failing: a flip to fail there is accepted, not a regression. */
  tests?: string[];
}

export interface RecipeDef {
  id: string;
  title: string;
  description?: string;
  base: string;
  onFailure: 'stop' | 'continue';
  /** Reboot once after the last step and re-run every validated step's checks. */
  finalReboot: boolean;
  /** Bench tools run before the first and after the last step (after the final reboot). */
  bench: BenchTool[];
  steps: RecipeStep[];
  exceptions: RecipeException[];
  file: string;
}

export interface LabIssue {
  file: string;
  line: number;
  path: string;
  message: string;
}

export const formatIssue = (i: LabIssue) => `${i.file}:${i.line}: ${i.path}: ${i.message}`;
