import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'renderer/src/**/*.test.{ts,tsx}', 'test/integration/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 600_000,
    // Integration tests share one real VM; running files in parallel would fight over 2 cores.
    fileParallelism: false,
    pool: 'forks',
  },
});
