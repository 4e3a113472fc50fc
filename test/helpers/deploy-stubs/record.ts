import { appendFileSync } from "node:fs";

/** What the az stub answers for the app registration and the deployment's functionAppName output. */
export const APP_ID = "5f1d3c52-7c1e-4b8e-9a43-2d7f0a6b1e90";
export const FUNCTION_APP_NAME = "ctscan-func-q3xv7k2lmb4de";

/** One call of a stubbed command line tool, as the deploy-steps test reads it back. */
export interface StubCall {
  tool: "az" | "func";
  args: string[];
  cwd: string;
}

/** Appends the call to the log named by STUB_LOG (JSON lines). */
export function record(tool: StubCall["tool"], args: string[]): void {
  const log = process.env.STUB_LOG;
  if (!log) fail(`${tool} stub: STUB_LOG is not set`);
  appendFileSync(log, `${JSON.stringify({ tool, args, cwd: process.cwd() } satisfies StubCall)}\n`);
}

export function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** The value after `--name` in `args`, or undefined. */
export function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}
