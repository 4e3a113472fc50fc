/**
 * Outside the Functions host, `@azure/functions` warns on every registration that it runs in test
 * mode. That is expected in tests and would bury real output, so those warnings alone are dropped.
 */
const libraryTestMode = /package is in test mode|Switching "@azure\/functions" package to test mode/;
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === "string" && libraryTestMode.test(args[0])) return;
  warn(...args);
};
