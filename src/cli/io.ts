import type { SandboxOptions } from "../sandbox/server";

export const EXIT = { ok: 0, violations: 1, usage: 2, incomplete: 3 } as const;

/** Where the CLI writes and what it reads from its surroundings; tests pass their own. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  color: boolean;
  env: Record<string, string | undefined>;
  /** Extra sandbox behaviour (faults, quota) for tests of `scan --estate`. */
  sandbox?: Omit<SandboxOptions, "estate">;
}
