import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hlabHome } from '../../electron/core/paths.js';

describe('hlabHome', () => {
  it('honours HLAB_HOME', () => {
    expect(hlabHome({ HLAB_HOME: '/data/x' }, 'linux')).toBe('/data/x');
  });
  it('matches Electron userData per OS', () => {
    expect(hlabHome({}, 'linux')).toBe(path.join(os.homedir(), '.config', 'hardening-lab'));
    expect(hlabHome({ XDG_CONFIG_HOME: '/xdg' }, 'linux')).toBe('/xdg/hardening-lab');
    expect(hlabHome({}, 'darwin')).toBe(
      path.join(os.homedir(), 'Library', 'Application Support', 'hardening-lab'),
    );
    expect(hlabHome({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32')).toBe(
      path.join('C:\\Users\\u\\AppData\\Roaming', 'hardening-lab'),
    );
  });
});
