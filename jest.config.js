/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': 'ts-jest',
    // dt-sql-parser ships ES modules with directory imports, and thrift (under @databricks/sql)
    // requires the ESM-only uuid 13, which Node 20 loads but jest's runtime does not: jest compiles them.
    '^.+\\.m?js$': ['ts-jest', { tsconfig: { allowJs: true, isolatedModules: true } }],
  },
  transformIgnorePatterns: [
    '/node_modules/(?!(dt-sql-parser|antlr4ng|antlr4-c3|uuid)/)(?![^/]+/node_modules/uuid/)',
  ],
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/support/summaryReporter.js'],
};
