/** One jest config over every package and service; tiers are named by file suffix
 *  (*.unit.spec.ts, *.int.spec.ts, *.e2e.spec.ts, *.browser.spec.ts, *.jaeger.spec.ts, *.fault.spec.ts) and selected
 *  with HOOKPOST_TEST_TIERS. The browser tier (the dashboard in Debian's Chromium) and the jaeger tier (needs Go;
 *  test/globalSetup.ts builds Jaeger) run on their own in npm test. */
const tiers = (process.env.HOOKPOST_TEST_TIERS || 'unit,int,e2e').split(',');

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  testMatch: tiers.map((tier) => `<rootDir>/{packages,services,test}/**/*.${tier}.spec.ts`),
  testPathIgnorePatterns: ['/node_modules/', '/.hookpost/'],
  // (.hookpost/ holds other checkouts too, e.g. the previous release for the upgrade test: not this project's modules)
  modulePathIgnorePatterns: ['<rootDir>/.hookpost/'],
  testTimeout: 60_000,
  globalSetup: '<rootDir>/test/globalSetup.ts',
  setupFiles: ['<rootDir>/test/loadCredentials.ts'],
  // The fault tier alone: calm-system measurements before the tests that restart brokers (test/faultOrder.cjs).
  ...(tiers.length === 1 && tiers[0] === 'fault' ? { testSequencer: '<rootDir>/test/faultOrder.cjs' } : {}),
};
