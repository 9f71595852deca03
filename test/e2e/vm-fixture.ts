/** A web host plus one real QEMU machine in its HLAB_HOME, booted once per worker through the CLI. */
import { test as base } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { IMAGE_DIR } from '../integration/vm-env.js';
import { startServe, type HostFixture } from './fixtures.js';

export const MACHINE = 'e2e1';

export function hlab(home: string, ...args: string[]): string {
  const r = spawnSync(process.execPath, ['electron/host/hlab.mjs', ...args], {
    env: { ...process.env, HLAB_HOME: home, HLAB_IMAGE_DIR: IMAGE_DIR },
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`hlab ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export const test = base.extend<object, { vmHost: HostFixture }>({
  vmHost: [
    // eslint-disable-next-line no-empty-pattern -- Playwright requires the destructuring form
    async ({}, use) => {
      const { host, child } = await startServe({ HLAB_IMAGE_DIR: IMAGE_DIR });
      hlab(host.home, 'machine', 'create', MACHINE, '--memory', '1024', '--cpus', '2');
      hlab(host.home, 'machine', 'up', MACHINE);
      hlab(host.home, 'snapshot', 'take', MACHINE, 'clean');
      await use(host);
      hlab(host.home, 'machine', 'rm', MACHINE);
      child.kill('SIGINT');
    },
    { scope: 'worker', timeout: 600_000 },
  ],
});
export { expect } from '@playwright/test';
