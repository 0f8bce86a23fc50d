/** Unit tests need nothing; integration tests start throwaway services (see test/helpers). */
const base = {
  testEnvironment: 'node',
  // Type-checking is `npm run typecheck`'s job; tests only transpile (tsconfig has isolatedModules).
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
};
module.exports = {
  testTimeout: 180000,
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    // Replay needs no server: committed histories against today's workflow bundle.
    { ...base, displayName: 'replay', testMatch: ['<rootDir>/test/replay/**/*.test.ts'] },
    // The plan's real windows (24 h, 48 h, 7 days, 72 h) on the time-skipping test server, fake activities.
    { ...base, displayName: 'time-skipping', testMatch: ['<rootDir>/test/time-skipping/**/*.test.ts'] },
    {
      ...base,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/helpers/global-setup.ts',
      globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
    },
  ],
};
