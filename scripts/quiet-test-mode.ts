/**
 * Outside the Functions host, @azure/functions warns once per registration that it runs in
 * "test mode". The demo calls the handlers directly on purpose, so those lines are only noise.
 */
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === "string" && args[0].includes('"@azure/functions" package')) return;
  warn(...args);
};
