/** The workshops a user can start: the built-in ones (labs/workshops) and the ones imported into the home. */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../shared/errors.js';
import type { LabIssue } from '../../shared/steps.js';
import type { WorkshopDef } from '../../shared/workshops.js';
import { loadWorkshops } from '../steps/workshop-load.js';

type Loaded = { workshops: WorkshopDef[]; issues: LabIssue[] };

/** Every file under a folder with its size and mtime: what decides whether a parse is still good. */
function signature(dir: string, depth = 0): string {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return '';
  }
  return names
    .map((n) => {
      const p = path.join(dir, n);
      try {
        const st = statSync(p);
        return st.isDirectory() && depth < 2
          ? `${n}/{${signature(p, depth + 1)}}`
          : `${n}:${st.size}:${st.mtimeMs}`;
      } catch {
        return n;
      }
    })
    .join(',');
}

export class WorkshopLibrary {
  /** Parsed once per change of the files: a class calls status for every trainee every second. */
  private cache?: { key: string; loaded: Loaded };

  constructor(
    private readonly builtInDir: string,
    readonly importedDir: string,
  ) {}

  load(): Loaded {
    const key = `${signature(this.builtInDir)}|${signature(this.importedDir)}`;
    if (this.cache?.key === key) return this.cache.loaded;
    const a = loadWorkshops(this.builtInDir, 'built-in');
    const b = loadWorkshops(this.importedDir, 'imported');
    // An imported workshop never shadows a built-in one of the same id.
    const ids = new Set(a.workshops.map((w) => w.id));
    const loaded = {
      workshops: [...a.workshops, ...b.workshops.filter((w) => !ids.has(w.id))],
      issues: [...a.issues, ...b.issues],
    };
    this.cache = { key, loaded };
    return loaded;
  }

  get(id: string): WorkshopDef {
    const w = this.load().workshops.find((x) => x.id === id);
    if (!w) throw new HlabError('not-found', `No workshop "${id}" (see: hlab workshop list).`);
    return w;
  }
}
