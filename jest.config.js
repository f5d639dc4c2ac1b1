/** Tests run one file at a time: native tests use every core through libtorch's threads. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The prebuild test needs `npm run prebuild` first: `npm run test:prebuild` runs it.
  testPathIgnorePatterns: ['/node_modules/', '/test/build/'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  setupFiles: ['<rootDir>/test/setup.ts'],
  maxWorkers: 1,
  testTimeout: 60000,
};
