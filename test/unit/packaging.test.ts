/** electron-builder config: the builder cannot run here (no Electron binary), so its inputs are checked. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../electron/core/csp.js';

const root = path.resolve(__dirname, '..', '..');
const config = JSON.parse(readFileSync(path.join(root, 'build', 'electron-builder.json'), 'utf8')) as {
  npmRebuild: boolean;
  files: string[];
  asarUnpack: string[];
  extraMetadata: { main: string };
  linux: { target: string[]; icon: string };
  mac: { target: string[]; icon: string };
  win: { target: string[]; icon: string };
};
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  main: string;
  scripts: Record<string, string>;
};

describe('electron-builder config', () => {
  it('builds AppImage, deb, dmg and nsis without rebuilding native modules', () => {
    expect(config.npmRebuild).toBe(false);
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.mac.target).toEqual(['dmg']);
    expect(config.win.target).toEqual(['nsis']);
    expect(pkg.scripts.dist).toContain('build/electron-builder.json');
  });
  it('points at files that exist: the main bundle, the labs, the image build script, icons', () => {
    expect(config.extraMetadata.main).toBe(pkg.main);
    expect(existsSync(path.join(root, 'build', 'icons', '512x512.png'))).toBe(true);
    expect(existsSync(path.join(root, config.win.icon))).toBe(true);
    expect(existsSync(path.join(root, 'electron', 'images', 'build-debian.sh'))).toBe(true);
    expect(existsSync(path.join(root, 'labs', 'recipes', 'container-host-baseline.yaml'))).toBe(true);
    expect(config.files).toEqual(expect.arrayContaining(['dist/**/*', 'labs/**/*']));
    // QEMU starts these outside the archive: the proxy per machine, the connector per connection.
    const qemu = path.join(root, 'electron', 'providers', 'egress');
    const parts = readdirSync(qemu).filter((f) => f.startsWith('egress-') && /\.(mjs|pl)$/.test(f));
    expect(parts.sort()).toEqual([
      'egress-addresses.mjs',
      'egress-connect.pl',
      'egress-http.mjs',
      'egress-proxy.mjs',
      'egress-tls.mjs',
    ]);
    for (const list of [config.files, config.asarUnpack])
      expect(list).toEqual(
        expect.arrayContaining([
          'electron/providers/egress/egress-*.mjs',
          'electron/providers/egress/egress-connect.pl',
        ]),
      );
  });
});

describe('renderer page', () => {
  it('carries the CSP as a <meta> tag too (the Electron window loads file://, where headers may not apply; L7)', () => {
    const html = readFileSync(path.join(root, 'renderer', 'index.html'), 'utf8');
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
    const header = CONTENT_SECURITY_POLICY.split('; ').filter((d) => !d.startsWith('frame-ancestors'));
    expect(meta?.split('; ')).toEqual(header);
  });
});
