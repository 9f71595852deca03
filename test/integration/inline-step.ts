/** A step defined in code (deliberately broken ones for engine tests and benches), with the loader's defaults. */
import type { StepDef } from '../../shared/steps.js';

export const inlineStep = (id: string, over: Partial<StepDef>): StepDef => ({
  id,
  title: id,
  area: 'bench',
  risk: 'none',
  reboot: false,
  snapshotOnlyRollback: false,
  conflicts: [],
  benchmarks: { lynis: [], 'cis-debian': [], 'docker-bench': [], ssg: [] },
  params: {},
  apply: 'true',
  verify: [{ name: 'ok', run: 'true' }],
  file: `(inline) ${id}`,
  ...over,
});
