/** The process boundaries, as a test (eslint enforces the same rules while editing). */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(path.join(root, dir)).flatMap((f) => {
    const rel = path.join(dir, f);
    if (f === 'node_modules') return [];
    if (statSync(path.join(root, rel)).isDirectory()) return sources(rel);
    return /\.(ts|tsx|mts|mjs)$/.test(f) ? [rel] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  return [
    ...text.matchAll(
      /(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g,
    ),
  ].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

const resolved = (file: string, spec: string) =>
  spec.startsWith('.') ? path.relative(root, path.resolve(root, path.dirname(file), spec)) : spec;

export function violations(): string[] {
  const out: string[] = [];
  for (const file of [...sources('electron'), ...sources('shared'), ...sources('renderer')]) {
    for (const spec of imports(file)) {
      const target = resolved(file, spec);
      if ((spec === 'electron' || spec.startsWith('electron/')) && !file.startsWith('electron/app/'))
        out.push(`${file}: imports electron`);
      if (!file.startsWith('renderer/') && target.startsWith('renderer/'))
        out.push(`${file}: node side imports the renderer (${spec})`);
      if (
        file.startsWith('renderer/src/') &&
        spec.startsWith('.') &&
        !target.startsWith('renderer/') &&
        !target.startsWith('shared/')
      ) {
        out.push(`${file}: renderer imports ${spec} from outside renderer/ and shared/`);
      }
      if (
        file.startsWith('renderer/src/') &&
        (spec.startsWith('node:') || spec === 'ssh2' || spec === 'electron')
      )
        out.push(`${file}: renderer imports ${spec}`);
      if (file.startsWith('shared/') && (spec.startsWith('node:') || spec === 'ssh2'))
        out.push(`${file}: shared/ must stay platform-neutral (${spec})`);
    }
  }
  return out;
}

describe('process boundaries', () => {
  it('only electron/app imports electron; the renderer imports only shared/ from outside; nothing imports the renderer', () => {
    expect(violations()).toEqual([]);
  });

  it('the scanner really sees imports (guards against a test that cannot fail)', () => {
    expect(imports('electron/app/preload.ts')).toContain('electron');
    expect(imports('renderer/src/api/client.ts').some((s) => s.includes('shared/rpc'))).toBe(true);
  });
});
