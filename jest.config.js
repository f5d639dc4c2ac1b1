/** Tests run one file at a time: native tests use every core through libtorch's threads. */
// hyparquet and its companions are published as ES modules only; jest's CommonJS runtime
// gets them transpiled (transpile-only, no type check) instead of skipped like other node_modules.
const esmPackages = ['hyparquet', 'hyparquet-compressors', 'hyparquet-writer', 'hysnappy'];
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The prebuild test needs `npm run prebuild` first: `npm run test:prebuild` runs it.
  testPathIgnorePatterns: ['/node_modules/', '/test/build/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    '^.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, checkJs: false, module: 'commonjs', target: 'ES2022' }, isolatedModules: true }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  setupFiles: ['<rootDir>/test/setup.ts'],
  maxWorkers: 1,
  testTimeout: 60000,
};
