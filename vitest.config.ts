import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Two projects so that unit tests never start Postgres: Vitest runs a
 * project's globalSetup only when that project has test files in the run.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    // The first embedded Postgres start runs initdb, which can take a while on a cold machine.
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        // Includes test/browser: real Chromium against a live roomgate, which
        // needs Postgres too, and the console built by pretest (npm run build).
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/unit/**'],
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
