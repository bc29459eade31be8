import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration files each start real servers and child processes: two at a time suits 2 cores.
    maxWorkers: 2,
  },
});
