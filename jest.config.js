/** Unit tests beside the code (src/**\/*.spec.ts); integration tests on real services in test/. */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };

module.exports = {
  // Entry points and declarative entity mappings hold no logic to test.
  collectCoverageFrom: [
    'src/**/*.ts',
    '!src/main.ts',
    '!src/first-run/embedded-postgres-process.ts',
    '!src/cli-data-source.ts',
    // Run only in processes of their own, tested there: the OpenAPI writer by
    // scripts/check-openapi.sh, tracing by test/tracing.int-spec.ts (a built instance).
    '!src/write-openapi.ts',
    '!src/common/tracing/tracing.ts',
    '!src/**/*.entity.ts',
    '!src/**/*.spec.ts',
    '!src/**/*.fixture.ts',
  ],
  coverageReporters: ['text-summary', 'json-summary', 'lcov'],
  coverageThreshold: { global: { lines: 80, branches: 80 } },
  testTimeout: 60000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/src/**/*.spec.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/**/*.int-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
