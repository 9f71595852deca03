/**
 * Where recipes live: the labs' own (shipped with the app, read-only in an installed app) and the
 * user's, in $HLAB_HOME/recipes, where the recipe builder saves. A user's recipe with the id of a
 * shipped one is the one used: it is the copy they changed.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { LabIssue, RecipeDef, StepDef } from '../../shared/steps.js';
import { loadRecipe } from '../steps/load.js';

export const userRecipesDir = (home: string) => path.join(home, 'recipes');

/** The folders to read, shipped first: a later folder's recipe replaces an earlier one's. */
export const recipeDirs = (labsDir: string, home: string) => [
  path.join(labsDir, 'recipes'),
  userRecipesDir(home),
];

const yamlIn = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => path.join(dir, f))
    : [];

export function listRecipes(dirs: string[], steps: StepDef[]): { recipes: RecipeDef[]; issues: LabIssue[] } {
  const byId = new Map<string, RecipeDef>();
  const issues: LabIssue[] = [];
  for (const file of dirs.flatMap(yamlIn)) {
    const r = loadRecipe(file, steps);
    issues.push(...r.issues);
    if (r.recipe) byId.set(r.recipe.id, r.recipe);
  }
  return { recipes: [...byId.values()].sort((a, b) => a.id.localeCompare(b.id)), issues };
}

/** The file of recipe `id`: the user's copy when there is one, else the shipped one. */
export function recipeFile(dirs: string[], id: string): string | undefined {
  return dirs
    .map((d) => path.join(d, `${id}.yaml`))
    .reverse()
    .find((f) => existsSync(f));
}
