import { appendFileSync } from "node:fs";

/** What the az stub answers for the app registration and the deployment's outputs. */
export const APP_ID = "5f1d3c52-7c1e-4b8e-9a43-2d7f0a6b1e90";
export const FUNCTION_APP_NAME = "ctscan-func-q3xv7k2lmb4de";
export const KEY_VAULT_NAME = "ctscankvq3xv7k2lmb4de";
/** The managed identity's principal id; a recreated identity (after the group was deleted) gets another. */
export const PRINCIPAL_IDS = ["3c9e2a41-5b7d-4f60-8e12-9a4b6c8d0e21", "8a1f4c62-0d3e-4b95-a7c8-2e5f9b1d3a47"];
/** Microsoft Graph's service principal object id and app role ids, as `az ad sp show` answers. */
export const GRAPH_SP_ID = "6f0b2d4e-8a1c-4e3f-b5d7-9c2e4a6b8d10";
export const GRAPH_ROLES: Record<string, string> = {
  "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
  "Policy.Read.All": "246dd0d5-5bd0-4def-940b-0421030a5b68",
  "CrossTenantInformation.ReadBasic.All": "cac88765-0581-4025-9725-5ebc13f729ee",
};

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

/** A command line's command: the words before its first option (`deployment sub create`, `rest`). */
export function commandOf(args: readonly string[]): string {
  const first = args.findIndex((a) => a.startsWith("-"));
  return (first < 0 ? args : args.slice(0, first)).join(" ");
}
