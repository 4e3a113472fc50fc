/**
 * `npm run test:deploy`: the README's deploy steps end to end, on a fresh copy of the repository
 * (runs npm ci there: needs the npm registry or its cache). `.ci/run` runs it after `npm test`.
 */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/dist/test"],
  testMatch: ["**/dist/test/integration/deploy-steps.test.js"],
  testTimeout: 10 * 60_000,
  setupFiles: ["<rootDir>/dist/test/setup/quiet.js"],
};
