import { parseArgs } from "node:util";
import type { DoctorCheck } from "../doctor/check";
import { doctorFailed, runDoctor } from "../doctor/run-doctor";
import { InputError } from "../errors";
import { terminalText } from "../text";
import { connectTo } from "./connect";
import { EXIT, type CliIo } from "./io";

export const DOCTOR_USAGE = "Usage: cross-tenant-scanner doctor [--estate FILE] [--format table|json]";

const MARK: Record<DoctorCheck["status"], string> = { ok: "ok  ", warn: "WARN", fail: "FAIL" };
const COLOR: Record<DoctorCheck["status"], string> = {
  ok: "\u001b[32m",
  warn: "\u001b[33m",
  fail: "\u001b[31m",
};

/** One line per check, its fix indented below it when there is one. */
export function doctorTable(checks: readonly DoctorCheck[], color: boolean): string {
  const width = Math.max(...checks.map((c) => c.id.length));
  const lines: string[] = [];
  for (const check of checks) {
    const mark = color ? `${COLOR[check.status]}${MARK[check.status]}\u001b[0m` : MARK[check.status];
    lines.push(`${mark}  ${check.id.padEnd(width)}  ${terminalText(check.detail)}`);
    if (check.fix) lines.push(`${" ".repeat(width + 8)}fix: ${terminalText(check.fix)}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * `doctor`: checks the identity's reach and every assumption the scan makes, live, writing nothing
 * (CONTRACTS §5). Exit 0 when nothing fails, 3 otherwise.
 */
export async function doctorCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { estate: { type: "string" }, format: { type: "string", default: "table" } },
    strict: true,
    allowPositionals: false,
  });
  if (values.format !== "table" && values.format !== "json")
    throw new InputError(`--format must be table or json, not "${values.format}".\n${DOCTOR_USAGE}`);
  let close = async () => {};
  try {
    const checks = await runDoctor({
      env: io.env,
      connect: async (config) => {
        const connected = await connectTo(values.estate, io, config);
        close = connected.close;
        if (connected.sandboxUrl) io.stderr(`Sandbox serving ${values.estate} at ${connected.sandboxUrl}\n`);
        return connected.connection;
      },
    });
    io.stdout(
      values.format === "json" ? `${JSON.stringify({ checks }, null, 2)}\n` : doctorTable(checks, io.color),
    );
    return doctorFailed(checks) ? EXIT.incomplete : EXIT.ok;
  } finally {
    await close();
  }
}
