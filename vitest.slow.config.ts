import { defineConfig } from 'vitest/config';

/** `npm run test:slow`: kernel upgrades, Docker installs, several reboots — kept out of `npm test`. */
export default defineConfig({
  test: {
    include: ['test/slow/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
