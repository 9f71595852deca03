import { defineConfig } from 'vitest/config';

/** The live Vagrant suite: run inside the test network namespace (test/vagrant/netns.sh), by `npm test`. */
export default defineConfig({
  test: {
    include: ['test/vagrant/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 1_200_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
