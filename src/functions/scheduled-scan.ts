import { app, type InvocationContext, type Timer } from "@azure/functions";
import { runLeasedScan } from "../scan/leased-scan";
import { contextLogger, runtime } from "./runtime";

/** The unattended scan on the SCAN_SCHEDULE timer. */
export async function scheduledScan(timer: Timer, context: InvocationContext): Promise<void> {
  const log = contextLogger(context);
  if (timer.isPastDue) log("warn", "timer-past-due", { last: timer.scheduleStatus?.last ?? null });
  const { config, storage, connection } = runtime();
  await runLeasedScan({ config, storage, connection, trigger: "timer", log });
}

app.timer("scheduledScan", { schedule: "%SCAN_SCHEDULE%", handler: scheduledScan });
