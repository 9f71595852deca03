/** The step library and recipes as the main process loaded them, plus the recipe being built. */
import { create } from 'zustand';
import type { ApiClient } from '../../../../shared/rpc';
import type { LabIssue, ParamValue, RecipeDef, StepDef } from '../../../../shared/steps';
import { useToasts } from '../toasts/store';
import { useNav } from '../navigation';
import { useRuns } from '../runs/store';

/** Opens Runs with this recipe picked: the next thing after saving one. */
export function runRecipeNext(id: string): void {
  useRuns.getState().pick({ recipe: id });
  useNav.getState().go('Runs');
}

export interface DraftStep {
  step: string;
  params: Record<string, ParamValue>;
}

export interface Draft {
  id: string;
  title: string;
  onFailure: 'stop' | 'continue';
  finalReboot: boolean;
  bench: string[];
  steps: DraftStep[];
  exceptions: Array<{ id: string; step?: string; reason: string; tests?: string[] }>;
}

export const emptyDraft = (): Draft => ({
  id: 'my-recipe',
  title: 'My recipe',
  onFailure: 'continue',
  finalReboot: false,
  bench: ['checks'],
  steps: [],
  exceptions: [],
});

interface StepsStore {
  steps: StepDef[];
  recipes: RecipeDef[];
  issues: LabIssue[];
  loaded: boolean;
  draft: Draft;
  draftIssues: LabIssue[];
  /** The last Validate or Save of the draft as it is now; undefined once it changes. */
  draftChecked?: 'valid' | 'invalid';
  load(api: ApiClient): Promise<void>;
  setDraft(d: Partial<Draft>): void;
  addStep(step: StepDef): void;
  moveStep(i: number, by: -1 | 1): void;
  removeStep(i: number): void;
  setParam(i: number, key: string, value: ParamValue): void;
  validate(api: ApiClient, save: boolean): Promise<boolean>;
}

/** YAML the loader reads back (JSON is valid YAML, but people edit these files by hand). */
export function draftToYaml(d: Draft): string {
  const q = (s: string) => JSON.stringify(s);
  const val = (v: ParamValue): string =>
    Array.isArray(v) ? `[${v.map((x) => q(x)).join(', ')}]` : typeof v === 'string' ? q(v) : String(v);
  const lines = [
    `id: ${d.id}`,
    `title: ${q(d.title)}`,
    'base: debian-12',
    `onFailure: ${d.onFailure}`,
    `finalReboot: ${d.finalReboot}`,
    ...(d.bench.length ? [`bench: [${d.bench.join(', ')}]`] : []),
    'steps:',
    ...d.steps.flatMap((s) => {
      const params = Object.entries(s.params);
      return params.length
        ? [`  - step: ${s.step}`, `    params: { ${params.map(([k, v]) => `${k}: ${val(v)}`).join(', ')} }`]
        : [`  - step: ${s.step}`];
    }),
    ...(d.exceptions.length
      ? [
          'exceptions:',
          ...d.exceptions.flatMap((e) => [
            `  - id: ${e.id}`,
            ...(e.step ? [`    step: ${e.step}`] : []),
            `    reason: ${q(e.reason)}`,
            ...(e.tests?.length ? [`    tests: [${e.tests.map(q).join(', ')}]`] : []),
          ]),
        ]
      : []),
  ];
  return `${lines.join('\n')}\n`;
}

export function recipeToDraft(r: RecipeDef): Draft {
  return {
    id: r.id,
    title: r.title,
    onFailure: r.onFailure,
    finalReboot: r.finalReboot,
    bench: [...r.bench],
    steps: r.steps.map((s) => ({ step: s.step, params: { ...s.params } })),
    exceptions: r.exceptions.map((e) => ({
      id: e.id,
      reason: e.reason,
      ...(e.step ? { step: e.step } : {}),
      ...(e.tests?.length ? { tests: [...e.tests] } : {}),
    })),
  };
}

export const useSteps = create<StepsStore>((set, get) => ({
  steps: [],
  recipes: [],
  issues: [],
  loaded: false,
  draft: emptyDraft(),
  draftIssues: [],
  async load(api) {
    const r = await api.call('steps.list', {});
    if (!r.ok) return useToasts.getState().error(r.error);
    set({ ...r.value, loaded: true });
  },
  setDraft: (d) => set({ draft: { ...get().draft, ...d }, draftIssues: [], draftChecked: undefined }),
  addStep(step) {
    const d = get().draft;
    set({
      draft: { ...d, steps: [...d.steps, { step: step.id, params: {} }] },
      draftIssues: [],
      draftChecked: undefined,
    });
  },
  moveStep(i, by) {
    const steps = [...get().draft.steps];
    const j = i + by;
    if (j < 0 || j >= steps.length) return;
    [steps[i], steps[j]] = [steps[j] as DraftStep, steps[i] as DraftStep];
    set({ draft: { ...get().draft, steps }, draftIssues: [], draftChecked: undefined });
  },
  removeStep(i) {
    set({
      draft: { ...get().draft, steps: get().draft.steps.filter((_, k) => k !== i) },
      draftIssues: [],
      draftChecked: undefined,
    });
  },
  setParam(i, key, value) {
    const steps = get().draft.steps.map((s, k) =>
      k === i ? { ...s, params: { ...s.params, [key]: value } } : s,
    );
    set({ draft: { ...get().draft, steps }, draftIssues: [], draftChecked: undefined });
  },
  async validate(api, save) {
    const r = await api.call('recipes.save', { yaml: draftToYaml(get().draft), save });
    if (!r.ok) {
      useToasts.getState().error(r.error);
      return false;
    }
    set({ draftIssues: r.value.issues, draftChecked: r.value.issues.length === 0 ? 'valid' : 'invalid' });
    if (save && r.value.file) {
      const id = get().draft.id;
      useToasts.getState().push({
        kind: 'info',
        text: `Saved ${r.value.file}`,
        action: { label: 'Run it', run: () => runRecipeNext(id) },
      });
      await get().load(api);
    }
    return r.value.issues.length === 0;
  },
}));
