/** The recipe providers' live suites run: a deliberately broken lockout step between two good ones. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** Writes it as `ID.yaml` in `dir`; returns the file. */
export function writeLockoutRecipe(dir: string, id: string): string {
  const file = path.join(dir, `${id}.yaml`);
  writeFileSync(
    file,
    [
      `id: ${id}`,
      'title: good, broken lockout, good',
      'base: debian-12',
      'onFailure: continue',
      'steps:',
      '  - step: disable-rare-protocols',
      '  - step: demo-sshd-lockout',
      '  - step: kernel-sysctl',
      '',
    ].join('\n'),
  );
  return file;
}

/** What a run of it must give: the lockout rolled back, the others validated. */
export const LOCKOUT_OUTCOMES = ['validated', 'rolled-back', 'validated'];
