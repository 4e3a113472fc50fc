/**
 * Tests run on the compiled output (`npm test` builds first), so jest needs no TypeScript transform.
 * `npm test` is offline and quick; the README's end-to-end deploy steps (npm ci in a fresh copy)
 * run apart, in `npm run test:deploy` (jest.deploy.config.js).
 */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/dist/test"],
  testMatch: ["**/*.test.js"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/test/integration/deploy-steps\\.test\\.js$"],
  testTimeout: 60000,
  maxWorkers: 2,
  setupFiles: ["<rootDir>/dist/test/setup/quiet.js"],
  // One Azurite for the run; each testStorage() gets a storage account of its own in it.
  globalSetup: "<rootDir>/dist/test/setup/global-setup.js",
  globalTeardown: "<rootDir>/dist/test/setup/global-teardown.js",
};
