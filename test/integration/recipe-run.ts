/** Runs a recipe of the library on a test machine through the engine, keeping every event. */
import path from 'node:path';
import { expect } from 'vitest';
import type { StampedEvent } from '../../shared/runs.js';
import type { StepDef } from '../../shared/steps.js';
import type { Service } from '../../electron/core/service.js';
import { runRecipe } from '../../electron/engine/run.js';
import { LABS_DIR, loadRecipe } from '../../electron/steps/load.js';

/** The run must validate every step: a failure shows the steps that did not, whole. */
export async function runValidated(service: Service, recipeId: string, machine: string, library: StepDef[]) {
  const { recipe, issues } = loadRecipe(path.join(LABS_DIR, 'recipes', `${recipeId}.yaml`), library);
  expect(issues).toEqual([]);
  const seen: StampedEvent[] = [];
  const s = await runRecipe({
    ctx: service.context,
    recipe: recipe!,
    library,
    machine,
    onEvent: (e) => seen.push(e),
  });
  const failures = s.steps.filter((x) => x.outcome !== 'validated');
  expect(failures, JSON.stringify(failures, null, 1)).toEqual([]);
  expect(s.status).toBe('validated');
  return { s, seen, recipe: recipe! };
}
