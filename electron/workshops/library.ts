/** The workshops a user can start: the built-in ones (labs/workshops) and the ones imported into the home. */
import { HlabError } from '../../shared/errors.js';
import type { LabIssue } from '../../shared/steps.js';
import type { WorkshopDef } from '../../shared/workshops.js';
import { loadWorkshops } from '../steps/workshop-load.js';

export class WorkshopLibrary {
  constructor(
    private readonly builtInDir: string,
    readonly importedDir: string,
  ) {}

  load(): { workshops: WorkshopDef[]; issues: LabIssue[] } {
    const a = loadWorkshops(this.builtInDir, 'built-in');
    const b = loadWorkshops(this.importedDir, 'imported');
    // An imported workshop never shadows a built-in one of the same id.
    const ids = new Set(a.workshops.map((w) => w.id));
    return {
      workshops: [...a.workshops, ...b.workshops.filter((w) => !ids.has(w.id))],
      issues: [...a.issues, ...b.issues],
    };
  }

  get(id: string): WorkshopDef {
    const w = this.load().workshops.find((x) => x.id === id);
    if (!w) throw new HlabError('not-found', `No workshop "${id}" (see: hlab workshop list).`);
    return w;
  }
}
