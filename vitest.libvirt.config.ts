import { defineConfig } from 'vitest/config';

/**
 * The lab-server suites: run inside the lab network namespace (test/libvirt/lab-hosts.sh) by
 * `npm test` (pool.test.ts, no guest booted) and `npm run test:slow` (booted.test.ts, class-pool.test.ts).
 */
export default defineConfig({
  test: {
    include: [
      ...(process.env.HLAB_LV_SUITE === 'slow'
        ? ['test/libvirt/booted.test.ts', 'test/libvirt/class-pool.test.ts']
        : ['test/libvirt/pool.test.ts']),
    ],
    testTimeout: 60_000,
    hookTimeout: 900_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
