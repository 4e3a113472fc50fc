import { app, type InvocationContext, type Timer } from "@azure/functions";
import { reportDestinationsOff } from "../alerts/destinations-off";
import { runLeasedScan } from "../scan/leased-scan";
import { contextLogger, runtime } from "./runtime";

/** The unattended scan on the SCAN_SCHEDULE timer. */
export async function scheduledScan(timer: Timer, context: InvocationContext): Promise<void> {
  const log = contextLogger(context);
  if (timer.isPastDue) log("warn", "timer-past-due", { last: timer.scheduleStatus?.last ?? null });
  const { config, storage, connection, unresolvedSecrets = [] } = runtime();
  const result = await runLeasedScan({ config, storage, connection, trigger: "timer", log });
  // An alert destination whose secret did not resolve is off: the others hear of it once a day.
  const scanId = result.ran ? result.report.scanId : result.running.scanId;
  await reportDestinationsOff({ storage, log }, unresolvedSecrets, scanId);
}

app.timer("scheduledScan", { schedule: "%SCAN_SCHEDULE%", handler: scheduledScan });
