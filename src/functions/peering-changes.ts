import { app, type InvocationContext, type Timer } from "@azure/functions";
import { pollPeeringChanges } from "../watch/change-poll";
import { contextLogger, runtime } from "./runtime";

/** Minutes, not hours: reads Resource Graph's change feed on CHANGE_POLL_SCHEDULE and re-checks changed VNets. */
export async function peeringChanges(timer: Timer, context: InvocationContext): Promise<void> {
  const log = contextLogger(context);
  if (timer.isPastDue) log("warn", "timer-past-due", { last: timer.scheduleStatus?.last ?? null });
  const { config, storage, connection } = runtime();
  await pollPeeringChanges({ config, storage, connection, log });
}

app.timer("peeringChanges", { schedule: "%CHANGE_POLL_SCHEDULE%", handler: peeringChanges });
