import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Bounds {
  x?: number;
  y?: number;
  width: number;
  height: number;
}

const DEFAULT: Bounds = { width: 1280, height: 820 };

export function loadWindowState(file: string): { bounds: Bounds; maximized: boolean } {
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { bounds?: Partial<Bounds>; maximized?: boolean };
    const b = raw.bounds ?? {};
    const ok = (n: unknown, min: number) => typeof n === 'number' && Number.isFinite(n) && n >= min;
    return {
      bounds: {
        width: ok(b.width, 400) ? (b.width as number) : DEFAULT.width,
        height: ok(b.height, 300) ? (b.height as number) : DEFAULT.height,
        ...(ok(b.x, -10000) && ok(b.y, -10000) ? { x: b.x as number, y: b.y as number } : {}),
      },
      maximized: raw.maximized === true,
    };
  } catch {
    return { bounds: DEFAULT, maximized: false };
  }
}

export function saveWindowState(file: string, bounds: Bounds, maximized: boolean): void {
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ bounds, maximized }));
  } catch {
    // Losing the window position is harmless; never block quitting on it.
  }
}
