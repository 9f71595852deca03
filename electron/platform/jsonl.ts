/** Append-only JSON-lines files: read back whole, a torn or foreign line (a crash mid-append) left out. */
import { existsSync, readFileSync } from 'node:fs';

export function readJsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((l) => {
      try {
        return l ? [JSON.parse(l) as T] : [];
      } catch {
        return [];
      }
    });
}
