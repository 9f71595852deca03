/**
 * `npm start`: opens the Electron window where the Electron binary is installed; otherwise
 * (as on machines that cannot download it) serves web mode and prints the URL.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../platform/run.js';
import { main } from './cli.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function electronBinary(): string | undefined {
  try {
    // In plain Node, the electron package exports the path of its binary, or throws if absent.
    const bin = createRequire(import.meta.url)('electron') as unknown;
    return typeof bin === 'string' ? bin : undefined;
  } catch {
    return undefined;
  }
}

async function start(): Promise<number> {
  const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
  const built = await run(
    npx,
    ['vite', 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'warn'],
    { timeoutMs: 300_000 },
  );
  if (built.code !== 0) {
    console.error(`hlab: building the UI failed:\n${built.stderr}`);
    return 2;
  }
  // The first-run check, before anything can fail: what this host lacks and how to fix it.
  await main(['doctor']);
  const bin = electronBinary();
  if (bin) {
    const { bundleElectron } = await import('../../build/bundle-electron.js');
    await bundleElectron();
    const child = spawn(bin, [path.join(root, 'dist/electron/main.cjs')], { stdio: 'inherit' });
    return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 0)));
  }
  console.error('The Electron binary is not installed here; starting web mode instead (open the URL below).');
  return main(['serve', '--port', process.env.PORT ?? '0']);
}

process.exitCode = await start();
