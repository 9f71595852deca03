/** Starts the real web host (`hlab serve --port 0`) once per test file, with a throwaway HLAB_HOME. */
import { test as base } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface HostFixture {
  url: string;
  origin: string;
  token: string;
  home: string;
}

export async function startServe(
  env: NodeJS.ProcessEnv = {},
): Promise<{ host: HostFixture; child: ChildProcess; stderr: () => string }> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'hlab-e2e-'));
  const child = spawn(process.execPath, ['electron/host/hlab.mjs', 'serve', '--port', '0'], {
    env: { ...process.env, HLAB_HOME: home, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`hlab serve printed no URL: ${stderr}`)), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
    child.on('exit', (code) => reject(new Error(`hlab serve exited ${code}: ${stderr}`)));
  });
  const u = new URL(url);
  return {
    host: { url, origin: u.origin, token: u.searchParams.get('token') ?? '', home },
    child,
    stderr: () => stderr,
  };
}

export const test = base.extend<object, { host: HostFixture }>({
  host: [
    // eslint-disable-next-line no-empty-pattern -- Playwright requires the destructuring form
    async ({}, use) => {
      const { host, child } = await startServe();
      await use(host);
      child.kill('SIGINT');
    },
    { scope: 'worker' },
  ],
});
export { expect } from '@playwright/test';
