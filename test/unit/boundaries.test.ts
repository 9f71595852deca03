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

/** Layers, top to bottom: a file may import only its own layer or lower ones. */
const LAYER: Record<string, number> = {
  'electron/app': 5,
  'electron/host': 5,
  'electron/core': 4,
  'electron/engine': 3,
  'electron/recipes': 3,
  'electron/bench': 3,
  'electron/workshops': 3,
  'electron/events': 3,
  'electron/machines': 2,
  'electron/providers': 1,
  'electron/ssh': 1,
  'electron/images': 1,
  'electron/steps': 1,
  'electron/platform': 0,
  shared: 0,
};

const layerOf = (file: string): number | undefined =>
  LAYER[
    file
      .split('/')
      .slice(0, file.startsWith('shared/') ? 1 : 2)
      .join('/')
  ];

export function upwardImports(): string[] {
  const out: string[] = [];
  for (const file of [...sources('electron'), ...sources('shared')]) {
    const from = layerOf(file);
    for (const spec of imports(file).filter((x) => x.startsWith('.'))) {
      const to = layerOf(resolved(file, spec));
      if (from !== undefined && to !== undefined && to > from) out.push(`${file} -> ${resolved(file, spec)}`);
    }
  }
  return out;
}

describe('layers', () => {
  it('arrows point down: host/app -> core -> engine/recipes/bench -> machines -> providers/ssh/images/steps -> platform/shared', () => {
    expect(upwardImports()).toEqual([]);
  });

  it('every electron folder has a layer (a new folder must be placed)', () => {
    const folders = readdirSync(path.join(root, 'electron')).filter((f) =>
      statSync(path.join(root, 'electron', f)).isDirectory(),
    );
    expect(folders.filter((f) => LAYER[`electron/${f}`] === undefined)).toEqual([]);
  });

  it('nothing outside providers/qemu and the one registering place names the QEMU provider', () => {
    const named = sources('electron').filter(
      (f) =>
        !f.startsWith('electron/providers/qemu/') &&
        /QemuProvider|ctx\.qemu\b/.test(readFileSync(path.join(root, f), 'utf8')),
    );
    expect(named).toEqual(['electron/core/context.ts']);
  });
});

describe('process boundaries', () => {
  it('only electron/app imports electron; the renderer imports only shared/ from outside; nothing imports the renderer', () => {
    expect(violations()).toEqual([]);
  });

  it('the scanner really sees imports (guards against a test that cannot fail)', () => {
    expect(imports('electron/app/preload.ts')).toContain('electron');
    expect(imports('renderer/src/api/client.ts').some((s) => s.includes('shared/rpc'))).toBe(true);
  });
});
