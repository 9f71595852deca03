/** The recipe builder saves into the user's data folder; its recipes are listed and run by id. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLocalClient } from '../../electron/core/local-client.js';
import { createService } from '../../electron/core/service.js';
import { LABS_DIR } from '../../electron/steps/load.js';

const YAML = (title: string) =>
  `id: container-host-baseline\ntitle: "${title}"\nbase: debian-12\nsteps:\n  - step: kernel-sysctl\n`;

describe('recipes the user saves', () => {
  it('go to $HLAB_HOME/recipes, never the app’s labs, and replace a shipped recipe of the same id', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'hlab-recipes-'));
    const shipped = readFileSync(path.join(LABS_DIR, 'recipes', 'container-host-baseline.yaml'), 'utf8');
    const client = createLocalClient(createService({ home, env: {} }).dispatcher);

    const check = await client.call('recipes.save', { yaml: YAML('Mine'), save: false });
    expect(check.ok && check.value.issues).toEqual([]);
    expect(existsSync(path.join(home, 'recipes'))).toBe(false);

    const saved = await client.call('recipes.save', { yaml: YAML('Mine'), save: true });
    expect(saved.ok && saved.value.file).toBe(path.join(home, 'recipes', 'container-host-baseline.yaml'));
    expect(readFileSync(path.join(LABS_DIR, 'recipes', 'container-host-baseline.yaml'), 'utf8')).toBe(
      shipped,
    );

    const list = await client.call('steps.list', {});
    if (!list.ok) throw new Error(list.error.message);
    const mine = list.value.recipes.filter((r) => r.id === 'container-host-baseline');
    expect(mine.map((r) => [r.title, r.file])).toEqual([
      ['Mine', path.join(home, 'recipes', 'container-host-baseline.yaml')],
    ]);
    // The other shipped recipe is still listed, from the labs.
    const thin = list.value.recipes.find((r) => r.id === 'thin-container-host');
    expect(path.resolve(thin?.file ?? '')).toBe(
      path.resolve(LABS_DIR, 'recipes', 'thin-container-host.yaml'),
    );

    const bad = await client.call('recipes.save', {
      yaml: 'id: broken\ntitle: x\nbase: debian-12\nsteps:\n  - step: no-such-step\n',
      save: true,
    });
    expect(bad.ok && bad.value.issues[0]).toMatchObject({ line: 5 });
    expect(existsSync(path.join(home, 'recipes', 'broken.yaml'))).toBe(false);
  });

  it('a run of an unknown recipe id names both folders it looked in', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'hlab-recipes-'));
    const client = createLocalClient(createService({ home, env: {} }).dispatcher);
    const r = await client.call('runs.start', { recipe: 'no-such-recipe', machine: 'm1' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('not-found');
      expect(r.error.message).toContain(path.join(home, 'recipes'));
    }
  });
});
