import { app, type InvocationContext, type Timer } from "@azure/functions";
import { reportDestinationsOff } from "../alerts/destinations-off";
import { runLeasedScan } from "../scan/leased-scan";
import { contextLogger, runtime } from "./runtime";

/** The unattended scan on the SCAN_SCHEDULE timer. */
export async function scheduledScan(timer: Timer, context: InvocationContext): Promise<void> {
  const log = contextLogger(context);
  if (timer.isPastDue) log("warn", "timer-past-due", { last: timer.scheduleStatus?.last ?? null });
  const { config, storage, connection, unresolvedSecrets = [] } = runtime();
  let scanId: string | undefined;
  try {
    const result = await runLeasedScan({ config, storage, connection, trigger: "timer", log });
    scanId = result.ran ? result.report.scanId : result.running.scanId;
  } finally {
    // An alert destination whose secret did not resolve is off: the others hear of it once a
    // day, whether or not the scan itself worked.
    await reportDestinationsOff({ storage, log }, unresolvedSecrets, scanId ?? "timer (the scan failed)");
  }
}

app.timer("scheduledScan", { schedule: "%SCAN_SCHEDULE%", handler: scheduledScan });
